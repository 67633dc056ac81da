package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.attention.RecordedRows;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.CorpusPartition;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TransformerModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Incremental refreshes of a real encoder's thresholds over text partitions on disk. */
class RefreshTest {
  static final CalibrationConfig CONFIG = CalibrationConfig.defaults()
      .withKGrid(List.of(4, 8, 16)).withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX);
  static final List<String> MORE = List.of(
      "The museum reopened after a two-year renovation of its east wing.",
      "Heavy snow closed several mountain passes overnight.",
      "The recipe calls for two cups of flour, a pinch of salt and three eggs.",
      "Volcanic eruptions can cool the global climate for several years.",
      "The court adjourned until Monday morning.",
      "Electric cars accounted for a growing share of new vehicle sales last year.",
      "He forgot his umbrella on the bus again.",
      "The treaty was signed by representatives of twelve nations in Geneva.",
      "Bees communicate the location of flowers through a dance.",
      "The software update fixes a security vulnerability in the network driver.",
      "A long queue formed outside the bakery before dawn.",
      "The river burst its banks after a week of continuous rain.");

  static TransformerModel model;

  @TempDir
  Path tmp;

  @BeforeAll
  static void load() {
    model = Models.load(Models.DEFAULT_ID);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  static List<String> sentences() {
    List<String> all = new ArrayList<>(Sentences.REAL);
    all.addAll(MORE);
    return all;
  }

  /** Writes sentences[from, to) as one partition file of the dataset. */
  static void land(Path dataset, String name, int from, int to) throws IOException {
    Files.createDirectories(dataset);
    Files.write(dataset.resolve(name), sentences().subList(from, to), StandardCharsets.UTF_8);
  }

  /**
   * Each partition's rows as the model's forward pass delivered them, recorded once. The forward pass
   * is not bitwise reproducible from one call to the next within a JVM (the dense denominators change
   * in the last bits as the JIT compiles the vectorised exponentials), so the property is pinned on the
   * rows: every state that calibrates a partition observes the same real rows.
   */
  static final Map<String, RecordedRows> CAPTURED = new java.util.concurrent.ConcurrentHashMap<>();

  static RecordedRows capture(Path file) throws IOException {
    List<int[]> seqs = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      seqs.add(model.tokenizer().encode(line));
    }
    RecordedRows rows = new RecordedRows();
    model.forward(ForwardRequest.of(seqs).withLogits(false).withObserver(rows));
    return rows;
  }

  /** Calibrates partition files of the corpus: the state observes their attention rows. */
  static final class TextCalibrator implements Refresh.Calibrator {
    final Map<String, Path> roots;
    final List<List<CorpusPartition>> calls = new ArrayList<>();

    TextCalibrator(Map<String, Path> roots) {
      this.roots = roots;
    }

    @Override
    public CalibrationState calibrate(List<CorpusPartition> partitions) throws IOException {
      calls.add(partitions);
      CalibrationState state = new CalibrationState(CalibrationGeometry.of(model.info()), CONFIG);
      for (CorpusPartition p : partitions) {
        RecordedRows rows = CAPTURED.get(p.fingerprint());
        if (rows == null) {
          rows = capture(roots.get(p.dataset()).resolve(p.id()));
          CAPTURED.put(p.fingerprint(), rows);
        }
        rows.replay(state);
      }
      return state;
    }
  }

  static Refresh refresh(ThresholdStore store, Map<String, Path> roots, TextCalibrator c)
      throws IOException {
    return Refresh.of(store).model(model.info()).config(CONFIG).placement(Placement.PRE_SOFTMAX)
        .partitions(CorpusPartitions.scanAll(roots)).calibrator(c).retention(3).seed(7);
  }

  @Test
  void calibrateAThenRefreshBEqualsCalibrateAUnionBBitForBit() throws IOException {
    Path wiki = tmp.resolve("corpus/wiki");
    Path news = tmp.resolve("corpus/news");
    Map<String, Path> roots = Map.of("wiki", wiki, "news", news);
    land(wiki, "part-00000.txt", 0, 9);
    land(news, "part-00000.txt", 9, 18);

    ThresholdStore incremental = ThresholdStore.under(tmp.resolve("out-incremental"), Fixtures.CLOCK);
    TextCalibrator c1 = new TextCalibrator(roots);
    RefreshResult first = refresh(incremental, roots, c1).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, first.outcome(), first.message());
    assertEquals(2, first.newPartitions().size());

    land(wiki, "part-00001.txt", 18, 27);
    land(news, "part-00001.txt", 27, 36);
    Files.writeString(wiki.resolve("_SUCCESS"), "");
    RefreshResult second = refresh(incremental, roots, c1).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, second.outcome(), second.message());
    assertEquals(first.version(), second.previous());
    assertEquals(List.of("news/part-00001.txt", "wiki/part-00001.txt"),
        c1.calls.get(1).stream().map(p -> p.dataset() + "/" + p.id()).toList(),
        "only the new partitions are calibrated");
    assertEquals(4, second.watermark().partitionCount());

    RefreshResult third = refresh(incremental, roots, c1).execute();
    assertEquals(RefreshResult.Outcome.NOTHING_NEW, third.outcome());
    assertEquals(second.version(), third.current());
    assertEquals(2, c1.calls.size(), "nothing is calibrated when nothing is new");
    assertTrue(third.message().startsWith("nothing new since " + second.version()), third.message());
    assertEquals(List.of(first.version(), second.version()), incremental.versions());

    ThresholdStore full = ThresholdStore.under(tmp.resolve("out-full"), Fixtures.CLOCK);
    RefreshResult once = refresh(full, roots, new TextCalibrator(roots)).execute();
    assertEquals(4, once.newPartitions().size());

    Path a = incremental.openCurrent();
    Path b = full.openCurrent();
    for (String f : List.of(StateFiles.FILE_NAME, ArrowThresholdWriter.FILE_NAME)) {
      assertArrayEquals(Files.readAllBytes(b.resolve(f)), Files.readAllBytes(a.resolve(f)), f);
    }
    assertEquals(full.manifest(once.version()).toTable(),
        incremental.manifest(second.version()).toTable());
    assertEquals(once.watermark(), second.watermark());
    assertEquals(full.manifest(once.version()).provenance().corpusFingerprints(),
        incremental.manifest(second.version()).provenance().corpusFingerprints());
    assertNotEquals(incremental.manifest(first.version()).toTable(),
        incremental.manifest(second.version()).toTable(), "the new data changed the thresholds");
  }

  @Test
  void aRefreshWithAnotherConfigOrPlacementOrAChangedPartitionIsRefused() throws IOException {
    Path wiki = tmp.resolve("corpus/wiki");
    Map<String, Path> roots = Map.of("wiki", wiki);
    land(wiki, "part-00000.txt", 0, 6);
    ThresholdStore store = ThresholdStore.under(tmp.resolve("out"), Fixtures.CLOCK);
    TextCalibrator c = new TextCalibrator(roots);
    refresh(store, roots, c).execute();
    land(wiki, "part-00001.txt", 6, 12);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> refresh(store, roots, c).config(CONFIG.withAdditionalK(32)).execute());
    assertTrue(e.getMessage().startsWith("'kGrid' is set to [4, 8, 16, 32]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> refresh(store, roots, c).placement(Placement.POST_SOFTMAX).execute());
    assertTrue(e.getMessage().startsWith("'placement' is set to POST_SOFTMAX"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> refresh(store, roots, c)
        .model("other", "cd".repeat(32), CalibrationGeometry.of(model.info())).execute());
    assertTrue(e.getMessage().contains("a refresh must use the same model"), e.getMessage());

    land(wiki, "part-00000.txt", 1, 6);
    e = assertThrows(IllegalArgumentException.class, () -> refresh(store, roots, c).execute());
    assertTrue(e.getMessage().contains("partition 'part-00000.txt' of dataset 'wiki'"),
        e.getMessage());
    assertEquals(1, c.calls.size(), "refused refreshes calibrate nothing");
    assertEquals(1, store.versions().size());
  }

  @Test
  void twoRefreshesStartedTogetherRunOnceAndTheOtherNamesTheHolder() throws Exception {
    Path wiki = tmp.resolve("corpus/wiki");
    Map<String, Path> roots = Map.of("wiki", wiki);
    land(wiki, "part-00000.txt", 0, 6);
    ThresholdStore store = ThresholdStore.under(tmp.resolve("out"), Fixtures.CLOCK);
    TextCalibrator inner = new TextCalibrator(roots);
    java.util.concurrent.CountDownLatch calibrating = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    Refresh.Calibrator slow = parts -> {
      calibrating.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return inner.calibrate(parts);
    };
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      java.util.concurrent.Future<RefreshResult> first =
          pool.submit(() -> refresh(store, roots, inner).calibrator(slow).execute());
      calibrating.await();
      StoreLock.LockedException e = assertThrows(StoreLock.LockedException.class,
          () -> refresh(store, roots, inner).execute());
      assertTrue(e.getMessage().contains("another refresh holds the threshold store lock"),
          e.getMessage());
      assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid() + " on host"),
          e.getMessage());
      release.countDown();
      assertEquals(RefreshResult.Outcome.PUBLISHED, first.get().outcome());
      assertEquals(1, inner.calls.size(), "the refused refresh calibrated nothing");
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }

  @Test
  void aRefreshAfterAKilledOneReportsTheStaleLockAndRemovesItsLeftovers() throws Exception {
    Path wiki = tmp.resolve("corpus/wiki");
    Map<String, Path> roots = Map.of("wiki", wiki);
    land(wiki, "part-00000.txt", 0, 6);
    ThresholdStore store = ThresholdStore.under(tmp.resolve("out"), Fixtures.CLOCK);
    Files.createDirectories(store.root());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        HoldStoreLock.class.getName(), store.root().toString()).redirectErrorStream(true).start();
    try (java.io.BufferedReader r = new java.io.BufferedReader(
        new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null && !line.startsWith("LOCKED")) {
        // JVM warnings before the child reports
      }
      Path leftover = Files.createDirectories(store.root().resolve(".staging/v20261123T095959Z-x"));
      Files.writeString(leftover.resolve("thresholds.json"), "{\"partial\": true}");
    } finally {
      p.destroyForcibly();
      p.waitFor();
    }
    RefreshResult r = refresh(store, roots, new TextCalibrator(roots)).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, r.outcome());
    assertEquals(1, r.warnings().size());
    assertTrue(r.warnings().get(0).contains("pid " + p.pid()) && r.warnings().get(0)
        .contains("ended without releasing it"), r.warnings().get(0));
    try (java.util.stream.Stream<Path> staged = Files.list(store.root().resolve(".staging"))) {
      assertEquals(0, staged.count());
    }
  }
}
