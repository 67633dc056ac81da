package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationStateTest {
  static final CalibrationGeometry SMALL = new CalibrationGeometry(2, 2, 1000);

  @Test
  void tRowIsTheKPlusFirstLargestScoreForEveryK() {
    List<Float> values = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      values.add(i * 0.25f - 10);
    }
    Collections.shuffle(values, new Random(7));
    float[] row = new float[300];
    for (int i = 0; i < 300; i++) {
      row[i] = values.get(i);
    }
    CalibrationState s = SyntheticRows.state(SMALL, CalibrationConfig.defaults(),
        List.of(new SyntheticRows.Row(1, 0, 0, row)));
    int b = s.rowLengthIndex().bucketOf(300);
    int[] ks = s.kGrid();
    for (int ki = 0; ki < ks.length; ki++) {
      Moments m = s.moments(Placement.PRE_SOFTMAX, 1, 0, b, ki);
      assertEquals(1, m.count());
      assertEquals((299 - ks[ki]) * 0.25f - 10, m.theta(0.1), "k = " + ks[ki]);
      assertEquals(0, m.std().signum());
    }
    assertEquals(0, s.rows(0, 0, b, 0), "other heads stay empty");
  }

  @Test
  void sdcMassIsThePrunedSoftmaxMassOutsideTheTopK() {
    Random rnd = new Random(11);
    float[] row = new float[777];
    for (int i = 0; i < row.length; i++) {
      row[i] = (float) (rnd.nextGaussian() * 2);
    }
    CalibrationState s = SyntheticRows.state(SMALL, CalibrationConfig.defaults(),
        List.of(new SyntheticRows.Row(0, 1, 0, row)));
    float[] sorted = row.clone();
    Arrays.sort(sorted);
    float max = sorted[sorted.length - 1];
    int[] ks = s.kGrid();
    for (int ki = 0; ki < ks.length; ki++) {
      double pruned = 0;
      for (int i = 0; i < row.length - ks[ki]; i++) {
        pruned += Math.exp(sorted[i] - max);
      }
      double got = s.sdcMass(0, 1, s.rowLengthIndex().bucketOf(777), ki);
      assertEquals(pruned, got, 1e-6 * pruned, "k = " + ks[ki]);
    }
  }

  @Test
  void postSoftmaxTRowIsTheDenseProbabilityOfTheKPlusFirstScore() {
    float[] row = new float[100];
    for (int i = 0; i < row.length; i++) {
      row[i] = (float) Math.sin(i) * 3;
    }
    CalibrationConfig c = CalibrationConfig.defaults().withKGrid(List.of(16))
        .withPlacements(Placement.POST_SOFTMAX);
    CalibrationState s = SyntheticRows.state(SMALL, c, List.of(new SyntheticRows.Row(0, 0, 0, row)));
    float[] sorted = row.clone();
    Arrays.sort(sorted);
    double d = 0;
    for (float v : row) {
      d += Math.exp(v - sorted[99]);
    }
    double p = Math.exp(sorted[99 - 16] - sorted[99]) / d;
    Moments m = s.moments(Placement.POST_SOFTMAX, 0, 0, s.rowLengthIndex().bucketOf(100), 0);
    assertEquals(p, m.mean().doubleValue(), 1e-7 * p);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> s.moments(Placement.PRE_SOFTMAX, 0, 0, 0, 0));
    assertTrue(e.getMessage().contains("no PRE_SOFTMAX statistics"), e.getMessage());
  }

  @Test
  void rowsNotLongerThanKAreNotCountedForThatK() {
    CalibrationConfig c = CalibrationConfig.defaults().withKGrid(List.of(16, 32));
    List<SyntheticRows.Row> rows = List.of(new SyntheticRows.Row(0, 0, 0, new float[16]),
        new SyntheticRows.Row(0, 0, 1, new float[32]), new SyntheticRows.Row(0, 0, 2, new float[33]));
    CalibrationState s = SyntheticRows.state(SMALL, c, rows);
    RowLengthIndex idx = s.rowLengthIndex();
    assertEquals(0, s.rows(0, 0, idx.bucketOf(16), 0));
    assertEquals(1, s.rows(0, 0, idx.bucketOf(32), 0));
    assertEquals(0, s.rows(0, 0, idx.bucketOf(32), 1));
    assertEquals(1, s.rows(0, 0, idx.bucketOf(33), 1));
    assertEquals(3, s.rowsObserved());
    assertEquals(81, s.elementsObserved());
    assertEquals(1, s.histogramRows(0, 0, idx.bucketOf(16)));
    assertEquals(33, s.histogram(0, 0, idx.bucketOf(33)).total());
    List<HistogramCell> cells = s.histograms();
    assertEquals(3, cells.size());
    assertEquals(List.of(16, 32, 33), cells.stream().map(HistogramCell::nLo).toList());
    assertEquals(16 + 32 + 33, cells.stream().mapToLong(x -> x.histogram().total()).sum());
  }

  @Test
  void sizeIsTheSerializedLengthAndDependsOnGeometryAndConfigOnly() {
    CalibrationConfig c = CalibrationConfig.defaults();
    CalibrationState empty = new CalibrationState(SMALL, c);
    CalibrationState full = SyntheticRows.state(SMALL, c,
        SyntheticRows.generate(1, SMALL, 200, 1000));
    long bound = CalibrationState.sizeBytesFor(SMALL, c);
    assertEquals(bound, empty.sizeBytes());
    assertEquals(bound, full.sizeBytes());
    assertEquals(bound, full.serialize().length);
    assertEquals(bound, empty.serialize().length);
  }

  @Test
  void stateForEightyLayersSixtyFourHeadsAnd32kContextIsBoundedWithoutAllocating() {
    CalibrationGeometry big = new CalibrationGeometry(80, 64, 32_768);
    CalibrationConfig c = CalibrationConfig.defaults();
    long bytes = CalibrationState.sizeBytesFor(big, c);
    long buckets = c.rowLengthIndex(32_768).numBuckets();
    assertEquals(64 + 9 * 8, buckets);
    long expected = 8L * 80 * 64 * buckets * (5 * 7 + 1 + 256 + 2) + 92 + 4 * 5 + 8;
    assertEquals(expected, bytes);
    assertTrue(bytes <= CalibrationState.MAX_STATE_BYTES, bytes + " bytes");
    System.out.printf("calibration state, 80 layers x 64 heads x 32768 positions, defaults: %d bytes"
        + " (%.1f MiB)%n", bytes, bytes / 1048576.0);
    // both placements and a finer histogram no longer fit one state: refused before allocating
    CalibrationConfig tooBig = c.withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)
        .withHistogram(-16, 48, 512);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CalibrationState(big, tooBig));
    assertTrue(e.getMessage().contains("'histogramBins'"), e.getMessage());
    assertEquals(48L * 32_768 + 8, CalibrationState.scratchBytesFor(big));
    long table = ThresholdTable.sizeBytesFor(big, c);
    assertEquals(40L * 80 * 64 * buckets * 5, table);
    System.out.printf("threshold table of one placement for it: %d bytes (%.1f MiB)%n", table,
        table / 1048576.0);
  }

  @Test
  void llama3EightBStateSize() {
    CalibrationGeometry llama = new CalibrationGeometry(32, 32, 8192);
    CalibrationConfig c = CalibrationConfig.defaults();
    long bytes = CalibrationState.sizeBytesFor(llama, c);
    long noHist = CalibrationState.sizeBytesFor(llama, c.withHistogram(-16, 48, 0));
    long both = CalibrationState.sizeBytesFor(llama,
        c.withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX));
    System.out.printf("LLaMA-3-8B (32 x 32, 8192 positions, k %s, %d row-length buckets): "
        + "%d bytes (%.1f MiB); without histograms %d bytes (%.1f MiB); pre+post %d bytes (%.1f MiB)%n",
        c.kGrid(), c.rowLengthIndex(8192).numBuckets(), bytes, bytes / 1048576.0, noHist,
        noHist / 1048576.0, both, both / 1048576.0);
    assertEquals(8L * 32 * 32 * 120 * (5 * 7 + 1 + 258) + 92 + 20 + 8, bytes);
    // post-softmax adds 4 longs per k and a log-probability histogram (bins + 2) per bucket
    assertEquals(8L * 32 * 32 * 120 * (5 * 11 + 1 + 258 + 258) + 92 + 20 + 8, both);
    assertEquals(8L * 32 * 32 * 120 * (5 * 7) + 92 + 20 + 8, noHist);
    // calibrate's default (both placements, top-k at calibration): a histogram of each kind per k for
    // every bucket with rows longer than k, 104 + 88 + 56 + 48 + 40 = 336 of the 120 x 5
    CalibrationConfig tac = c.withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)
        .withHistogramsPerK(true);
    long tacBytes = CalibrationState.sizeBytesFor(llama, tac);
    assertEquals(8L * 32 * 32 * (120 * 5 * 11 + 336 * (1 + 258 + 258)) + 92 + 20 + 8, tacBytes);
    assertTrue(tacBytes <= CalibrationState.MAX_STATE_BYTES);
    long tac128 = CalibrationState.sizeBytesFor(llama, tac.withHistogram(-16, 48, 128));
    assertEquals(8L * 32 * 32 * (120 * 5 * 11 + 336 * (1 + 130 + 130)) + 92 + 20 + 8, tac128);
    System.out.printf("LLaMA-3-8B, calibrate default (pre+post, TAC, per-k histograms): %d bytes (%.1f MiB);"
        + " with 128 bins %d bytes (%.1f MiB)%n", tacBytes, tacBytes / 1048576.0, tac128, tac128 / 1048576.0);
  }

  @Test
  void foreignCorruptTruncatedOrNewerBytesAreRefusedWithAClearError() {
    CalibrationState s = SyntheticRows.state(SMALL, CalibrationConfig.defaults(),
        SyntheticRows.generate(3, SMALL, 10, 200));
    byte[] good = s.serialize();
    assertEquals(s, CalibrationState.deserialize(good));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CalibrationState.deserialize("PAR1 not a state".getBytes()));
    assertTrue(e.getMessage().contains("not a calibration state"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> CalibrationState.deserialize(new byte[3]));
    assertTrue(e.getMessage().contains("shorter than its 8-byte header"), e.getMessage());

    byte[] newer = good.clone();
    newer[7] = 9;
    e = assertThrows(IllegalArgumentException.class, () -> CalibrationState.deserialize(newer));
    assertTrue(e.getMessage().contains("format version 9 is not supported"), e.getMessage());

    byte[] truncated = Arrays.copyOf(good, good.length - 100);
    e = assertThrows(IllegalArgumentException.class, () -> CalibrationState.deserialize(truncated));
    assertTrue(e.getMessage().contains("corrupt calibration state"), e.getMessage());

    byte[] flipped = good.clone();
    flipped[good.length / 2] ^= 0x10;
    e = assertThrows(IllegalArgumentException.class, () -> CalibrationState.deserialize(flipped));
    assertTrue(e.getMessage().contains("CRC-32"), e.getMessage());
  }

  /** Seeded mutations of a valid state: every one is refused with an IllegalArgumentException. */
  @Test
  void mutatedStateBytesAreAlwaysRefusedCleanly() {
    byte[] good = SyntheticRows.state(SMALL, CalibrationConfig.defaults().withHistogram(-4, 4, 8),
        SyntheticRows.generate(4, SMALL, 5, 300)).serialize();
    Random rnd = new Random(99);
    int refused = 0;
    for (int trial = 0; trial < 3000; trial++) {
      byte[] bad;
      if (trial % 3 == 0) {
        bad = Arrays.copyOf(good, rnd.nextInt(good.length));
      } else {
        bad = good.clone();
        int flips = 1 + rnd.nextInt(4);
        for (int f = 0; f < flips; f++) {
          // mostly the header, where a change alters what the rest means
          int pos = rnd.nextInt(4) == 0 ? rnd.nextInt(bad.length) : rnd.nextInt(140);
          bad[pos] = (byte) rnd.nextInt(256);
        }
        if (Arrays.equals(bad, good)) {
          continue;
        }
      }
      byte[] input = bad;
      assertThrows(IllegalArgumentException.class, () -> CalibrationState.deserialize(input),
          "trial " + trial);
      refused++;
    }
    assertTrue(refused > 2900, refused + " refused");
  }

  @Test
  void rowsOutsideTheGeometryOrWithHugeScoresAreRejected() {
    CalibrationState s = new CalibrationState(SMALL, CalibrationConfig.defaults());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SyntheticRows.feed(List.of(new SyntheticRows.Row(2, 0, 0, new float[5])), s));
    assertTrue(e.getMessage().contains("layer 2"), e.getMessage());
    float[] huge = new float[40];
    Arrays.fill(huge, 3e9f);
    e = assertThrows(IllegalArgumentException.class,
        () -> SyntheticRows.feed(List.of(new SyntheticRows.Row(1, 1, 0, huge)), s));
    assertTrue(e.getMessage().contains("layer 1, head 1"), e.getMessage());
  }

  @Test
  void int128SumsCarryAcrossWordsAndRefuseToOverflow() {
    long[] a = new long[2];
    for (int i = 0; i < 4; i++) {
      Int128.add(a, 0, Long.MAX_VALUE);
    }
    Int128.add(a, 0, -5);
    assertEquals(java.math.BigInteger.valueOf(Long.MAX_VALUE).multiply(java.math.BigInteger.valueOf(4))
        .subtract(java.math.BigInteger.valueOf(5)), Int128.toBigInteger(a[0], a[1]));
    long[] sq = new long[2];
    Int128.addSquare(sq, 0, -3_000_000_000_000L);
    Int128.addSquare(sq, 0, 3_000_000_000_000L);
    assertEquals(java.math.BigInteger.valueOf(3_000_000_000_000L).pow(2).shiftLeft(1),
        Int128.toBigInteger(sq[0], sq[1]));
    long[] near = {Long.MAX_VALUE, -1L};
    assertThrows(ArithmeticException.class, () -> Int128.add(near, 0, 1));
    assertArrayEquals(new long[] {Long.MAX_VALUE, -1L}, near);
  }
}
