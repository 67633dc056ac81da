package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

class RowLengthIndexTest {

  @Test
  void lengthsUpToTheExactLimitAreTheirOwnBucket() {
    RowLengthIndex idx = RowLengthIndex.defaults(8192);
    for (int n = 1; n <= 64; n++) {
      int b = idx.bucketOf(n);
      assertEquals(n - 1, b);
      assertEquals(n, idx.lowerBound(b));
      assertEquals(n, idx.upperBound(b));
      assertEquals(n, idx.representative(b));
    }
  }

  @Test
  void geometricBucketsTileAllLengthsUpToMaxPositionsWithEightPerOctave() {
    RowLengthIndex idx = RowLengthIndex.defaults(8192);
    // 64 exact + 8 per octave over 64..8192 (7 octaves)
    assertEquals(64 + 7 * 8, idx.numBuckets());
    int expectedLo = 1;
    for (int b = 0; b < idx.numBuckets(); b++) {
      assertEquals(expectedLo, idx.lowerBound(b), "bucket " + b);
      assertTrue(idx.upperBound(b) >= idx.lowerBound(b));
      int rep = idx.representative(b);
      assertTrue(rep >= idx.lowerBound(b) && rep <= idx.upperBound(b));
      expectedLo = idx.upperBound(b) + 1;
    }
    assertEquals(8193, expectedLo);
    for (int n = 1; n <= 8192; n++) {
      int b = idx.bucketOf(n);
      assertTrue(idx.lowerBound(b) <= n && n <= idx.upperBound(b), "n = " + n);
    }
    int b = idx.bucketOf(65);
    assertEquals(65, idx.lowerBound(b));
    assertEquals((int) Math.floor(64 * Math.pow(2, 1 / 8.0)), idx.upperBound(b));
    assertEquals(16384 / 2, idx.upperBound(idx.numBuckets() - 1));
  }

  @Test
  void smallBucketsPerOctaveSkipsEmptyBuckets() {
    RowLengthIndex idx = new RowLengthIndex(2, 64, 100);
    int prevHi = 0;
    for (int b = 0; b < idx.numBuckets(); b++) {
      assertEquals(prevHi + 1, idx.lowerBound(b));
      prevHi = idx.upperBound(b);
    }
    assertEquals(100, prevHi);
  }

  @Test
  void lengthsOutsideTheModelRangeAreRejected() {
    RowLengthIndex idx = RowLengthIndex.defaults(512);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> idx.bucketOf(513));
    assertTrue(e.getMessage().contains("outside 1..512"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> idx.bucketOf(0));
  }

  @Test
  void nearestCalibratedPrefersOwnThenNearestThenLast() {
    RowLengthIndex idx = RowLengthIndex.defaults(4096);
    // calibrated: lengths 10 and 20 only
    java.util.function.IntPredicate cal = b -> b == idx.bucketOf(10) || b == idx.bucketOf(20);
    assertEquals(idx.bucketOf(10), idx.nearestCalibrated(10, cal));
    assertEquals(idx.bucketOf(10), idx.nearestCalibrated(3, cal));
    assertEquals(idx.bucketOf(10), idx.nearestCalibrated(14, cal));
    assertEquals(idx.bucketOf(10), idx.nearestCalibrated(15, cal), "ties go to the shorter");
    assertEquals(idx.bucketOf(20), idx.nearestCalibrated(16, cal));
    assertEquals(idx.bucketOf(20), idx.nearestCalibrated(4000, cal), "beyond the longest: the last");
    assertEquals(-1, idx.nearestCalibrated(100, b -> false));
  }

  @Test
  void equalParametersGiveEqualIndexesAndJavaSerializationRoundTrips() throws Exception {
    RowLengthIndex a = new RowLengthIndex(32, 4, 2048);
    assertEquals(a, new RowLengthIndex(32, 4, 2048));
    assertEquals(a.hashCode(), new RowLengthIndex(32, 4, 2048).hashCode());
    assertNotEquals(a, new RowLengthIndex(32, 8, 2048));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(a);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      RowLengthIndex b = (RowLengthIndex) in.readObject();
      assertEquals(a, b);
      assertEquals(a.bucketOf(1000), b.bucketOf(1000));
    }
  }

  @Test
  void invalidParametersNameTheKey() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new RowLengthIndex(0, 8, 100));
    assertTrue(e.getMessage().contains("'exactLengthLimit' is set to 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new RowLengthIndex(64, 0, 100));
    assertTrue(e.getMessage().contains("'bucketsPerOctave' is set to 0"), e.getMessage());
  }
}
