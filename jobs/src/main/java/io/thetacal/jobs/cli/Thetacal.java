package io.thetacal.jobs.cli;

import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.calibrate.CalibrateException;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.ingest.DatasetIngestResult;
import io.thetacal.jobs.ingest.IngestException;
import io.thetacal.jobs.ingest.IngestResult;
import io.thetacal.jobs.inspect.InspectResult;
import io.thetacal.jobs.report.ReportException;
import io.thetacal.jobs.report.ReportResult;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * The command line: {@code thetacal JOB --conf conf/FILE.yaml [--out DIR] [--set key=value ...]}. It only
 * parses arguments, runs the job and prints its result; the jobs themselves live in
 * {@link ThetacalJobs}. Exit codes: 0 success, 1 the job failed, 2 bad usage or configuration, 3 a refresh's
 * gate rejected its candidate, 4 a threshold store is locked by another run (the message names it).
 */
public final class Thetacal {
  /** Subcommands and what they do, in help order. */
  static final Map<String, String> COMMANDS = new LinkedHashMap<>();

  static {
    COMMANDS.put("ingest", "raw sources -> Parquet calibration datasets under <out>/corpora");
    COMMANDS.put("calibrate", "calibration datasets -> Top-theta thresholds under <out>/thresholds");
    COMMANDS.put("inspect", "one text through the model -> attention scores as Parquet");
    COMMANDS.put("run", "ingest, calibrate (once per calibration dataset) and report, end to end");
    COMMANDS.put("report", "thresholds x holdout datasets -> report.html/json/parquet under <out>/report");
    COMMANDS.put("refresh", "calibrate new corpus partitions into the current version, gate, publish");
    COMMANDS.put("versions", "list threshold versions: time, data watermark, gate, current");
    COMMANDS.put("promote", "make VERSION current");
    COMMANDS.put("rollback", "make the version before the current one current");
  }

  private Thetacal() {
  }

  public static void main(String[] args) {
    int code = run(args, System.out, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** Runs a command; returns the exit code. Visible for tests. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
      out.print(usage());
      return args.length == 0 ? 2 : 0;
    }
    String command = args[0];
    if (!COMMANDS.containsKey(command)) {
      err.println("thetacal: unknown command '" + command + "', known: " + String.join(", ", COMMANDS.keySet()));
      return 2;
    }
    if (StoreCommands.handles(command)) {
      return StoreCommands.run(command, List.of(args).subList(1, args.length), out, err);
    }
    Options o;
    try {
      o = Options.parse(command, List.of(args).subList(1, args.length));
    } catch (UsageException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      err.print(usage());
      return 2;
    }
    if (o.help) {
      out.print(usage());
      return 0;
    }
    try {
      ThetacalConfig config = ConfigLoader.load(o.conf == null ? null : Path.of(o.conf), o.sets);
      if (o.out != null && !command.equals("inspect")) {
        config = config.withOutputRoot(o.out);
      }
      if (o.printConfig) {
        out.print(ConfigLoader.toYaml(config));
        return 0;
      }
      SparkSession spark = SparkSession.builder().appName("thetacal " + command).getOrCreate();
      return switch (command) {
        case "ingest" -> ingest(spark, config, o, out);
        case "calibrate" -> calibrate(spark, config, o, out);
        case "inspect" -> inspect(spark, config, o, out);
        case "report" -> report(spark, config, out);
        case "run" -> runAll(spark, config, o, out);
        default -> {
          err.println("thetacal " + command + ": not available in this build yet");
          yield 1;
        }
      };
    } catch (ConfigException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return 2;
    } catch (IngestException | CalibrateException | ReportException | io.thetacal.model.ModelLoadException
        | io.thetacal.attention.NonFiniteScoreException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return 1;
    } catch (RuntimeException e) {
      io.thetacal.io.StoreLock.LockedException locked = cause(e, io.thetacal.io.StoreLock.LockedException.class);
      if (locked == null) {
        throw e;
      }
      err.println("thetacal " + command + ": " + locked.getMessage());
      return StoreCommands.LOCKED;
    }
  }

  /** The first cause of {@code t} (itself included) of the given type, or null. */
  static <T extends Throwable> T cause(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    return null;
  }

  private static int ingest(SparkSession spark, ThetacalConfig config, Options o, PrintStream out) {
    var job = ThetacalJobs.get(spark).ingest().config(config);
    if (!o.datasets.isEmpty()) {
      job.datasets(o.datasets);
    }
    IngestResult r = job.execute();
    out.printf(Locale.ROOT, "%-16s %9s %9s %9s %11s %9s %9s  %s%n", "dataset", "documents", "rejected",
        "sequences", "tokens", "calib", "holdout", "fingerprint");
    for (DatasetIngestResult d : r.datasets()) {
      out.printf(Locale.ROOT, "%-16s %9d %9d %9d %11d %9d %9d  %s%n", d.name(), d.documents(), d.rejected(),
          d.sequences(), d.tokens(), d.calibrationSequences(), d.holdoutSequences(),
          d.fingerprint().substring(0, 16));
      if (!d.rejectedByReason().isEmpty()) {
        out.println("  rejected: " + d.rejectedByReason());
      }
    }
    out.printf(Locale.ROOT, "wrote %s (rejected rows: %s) in %.1f s%n", r.corporaPath(), r.rejectedPath(),
        r.elapsed().toMillis() / 1000.0);
    return 0;
  }

  private static int inspect(SparkSession spark, ThetacalConfig config, Options o, PrintStream out) {
    var job = ThetacalJobs.get(spark).inspect().model(o.model != null ? o.model : config.model().id());
    if (o.text != null) {
      job.text(o.text);
    }
    if (o.tokens != null) {
      job.tokens(parseTokens(o.tokens));
    }
    if (o.out != null) {
      job.output(Path.of(o.out));
    }
    if (o.logitsOut != null) {
      job.logitsOutput(Path.of(o.logitsOut));
    }
    InspectResult r = job.execute();
    out.printf(Locale.ROOT, "%s: %d tokens, %d layers x %d heads -> %d rows in %s%n", r.modelId(),
        r.tokens().length, r.layers(), r.heads(), r.rows(), r.output());
    r.logitsOutput().ifPresent(f -> out.printf(Locale.ROOT, "logits [%d x %d] float32 LE -> %s%n",
        r.tokens().length, r.vocabSize(), f));
    return 0;
  }

  static int[] parseTokens(String s) {
    String[] parts = s.split(",");
    int[] ids = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        ids[i] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new ConfigException("'--tokens[" + i + "]' is set to '" + parts[i].trim()
            + "' but must be an integer token id");
      }
    }
    return ids;
  }

  private static int calibrate(SparkSession spark, ThetacalConfig config, Options o, PrintStream out) {
    var job = ThetacalJobs.get(spark).calibrate().config(config);
    if (o.version != null) {
      job.version(o.version);
    }
    CalibrateResult r = job.execute();
    out.printf(Locale.ROOT, "calibrated %s (%s) on %d sequences / %d tokens (%d rejected): %d attention rows,"
        + " state %d bytes, %.0f tokens/s, %.1f s%n", r.modelId(), r.modelContentHash().substring(0, 16),
        r.sequences(), r.tokens(), r.rejected(), r.rowsObserved(), r.stateBytes(), r.tokensPerSecond(),
        r.elapsed().toMillis() / 1000.0);
    r.directories().forEach((p, dir) -> {
      out.printf(Locale.ROOT, "  %-12s %d calibrated cells -> %s%n", p.name().toLowerCase(Locale.ROOT),
          r.calibratedCells().get(p), dir);
      var c = r.depthCorrection().get(p);
      if (c != null) {
        java.util.DoubleSummaryStatistics range = java.util.Arrays.stream(c.shifts())
            .flatMapToDouble(java.util.Arrays::stream).summaryStatistics();
        out.printf(Locale.ROOT, "  %-12s depth correction on %d sequences: shifts %+.3f .. %+.3f %s%n", "",
            c.sequences(), range.getMin(), range.getMax(), p == io.thetacal.attention.Placement.PRE_SOFTMAX ? "(score units)"
                : "(ln θ)");
      }
      var h = r.holdout().get(p);
      if (h != null) {
        out.printf(Locale.ROOT, "  %-12s holdout kept/k: worst |ratio-1| = %.3f, %s (tolerance %.2f, %d unmeasured)%n",
            "", h.worstDeviation(), h.allWithin() ? "all within" : "NOT all within", h.tolerance(), h.unmeasured());
        StringBuilder perK = new StringBuilder();
        for (io.thetacal.calibration.HoldoutCheck.KVerdict v : h.ks()) {
          perK.append(perK.length() == 0 ? "" : ", ").append("k=").append(v.k()).append(' ')
              .append(v.measured() ? v.status() : "not measurable");
        }
        out.printf(Locale.ROOT, "  %-12s holdout per k: %s%n", "", perK);
      }
    });
    return 0;
  }

  private static int report(SparkSession spark, ThetacalConfig config, PrintStream out) {
    ReportResult r = ThetacalJobs.get(spark).report().config(config).execute();
    r.thresholds().forEach((k, dir) -> out.printf(Locale.ROOT, "  thresholds %-28s %s%n", k, dir));
    out.printf(Locale.ROOT, "report: %d cells, %d pass all gates, %d forward passes, %.1f s%n", r.cells(),
        r.passed(), r.forwardPasses(), r.elapsed().toMillis() / 1000.0);
    out.println("  " + r.parquet());
    out.println("  " + r.json());
    out.println("report.html: " + r.html());
    return 0;
  }

  /** Ingest, calibrate once per calibration dataset (so the report has one row per dataset), report. */
  private static int runAll(SparkSession spark, ThetacalConfig config, Options o, PrintStream out) {
    long t0 = System.nanoTime();
    ingest(spark, config, o, out);
    String base = o.version != null ? o.version
        : io.thetacal.io.VersionedDirectory.timestampVersion(java.time.Clock.systemUTC());
    for (String d : config.calibration().datasets()) {
      ThetacalConfig one = config.withCalibrationDatasets(List.of(d));
      Options single = new Options();
      single.version = config.calibration().datasets().size() == 1 ? base : base + "-" + d;
      calibrate(spark, one, single, out);
    }
    report(spark, config, out);
    out.printf(Locale.ROOT, "run: done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    return 0;
  }

  static String usage() {
    StringBuilder sb = new StringBuilder();
    sb.append("usage: thetacal JOB --conf conf/FILE.yaml [--out DIR] [--set key=value ...]\n\n");
    sb.append("jobs:\n");
    COMMANDS.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "  %-10s %s%n", k, v)));
    sb.append("\noptions (all jobs):\n");
    sb.append("  --conf FILE         YAML merged over the embedded conf/default.yaml\n");
    sb.append("  --out DIR           output root (overrides output.root)\n");
    sb.append("  --set key=value     override one key, e.g. --set calibration.k_grid=16,64\n");
    sb.append("  --print-config      print the effective configuration and exit\n");
    sb.append("calibrate:\n");
    sb.append("  --version NAME      version to publish (default: UTC time, e.g. v20261123T104500Z)\n");
    sb.append("run:\n");
    sb.append("  --version NAME      base version name (one version per calibration dataset: NAME-DATASET)\n");
    sb.append("refresh | versions | promote VERSION | rollback (same --conf, --out, --set as the other jobs):\n");
    sb.append("  --placement P       one placement's store: pre_softmax or post_softmax (refresh: default\n");
    sb.append("                      refresh.placements; the others: the first of them)\n");
    sb.append("  exit codes: 0 published / nothing new / switched, 3 rejected by the gate, 4 store locked\n");
    sb.append("ingest:\n");
    sb.append("  --dataset NAME      ingest only this dataset (repeatable)\n");
    sb.append("inspect:\n");
    sb.append("  --model ID|PATH --text \"...\" [--tokens ID,ID,...] --out FILE.parquet [--logits-out FILE]\n");
    return sb.toString();
  }

  /** A command line that cannot be understood. */
  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message);
    }
  }

  /** Parsed options of one command. */
  static final class Options {
    String conf;
    String out;
    final List<String> sets = new ArrayList<>();
    final List<String> datasets = new ArrayList<>();
    boolean printConfig;
    boolean help;
    String model;
    String text;
    String tokens;
    String logitsOut;
    String version;

    static Options parse(String command, List<String> args) {
      Options o = new Options();
      for (int i = 0; i < args.size(); i++) {
        String a = args.get(i);
        String value = null;
        int eq = a.indexOf('=');
        if (a.startsWith("--") && eq > 0 && !a.startsWith("--set")) {
          value = a.substring(eq + 1);
          a = a.substring(0, eq);
        }
        switch (a) {
          case "--help", "-h" -> o.help = true;
          case "--print-config" -> o.printConfig = true;
          case "--conf" -> o.conf = value != null ? value : next(args, ++i, a);
          case "--out" -> o.out = value != null ? value : next(args, ++i, a);
          case "--set" -> o.sets.add(next(args, ++i, a));
          case "--dataset" -> o.datasets.add(only(command, "ingest", a, value != null ? value : next(args, ++i, a)));
          case "--version" -> o.version = onlyOf(command, List.of("calibrate", "run"), a,
              value != null ? value : next(args, ++i, a));
          case "--model" -> o.model = only(command, "inspect", a, value != null ? value : next(args, ++i, a));
          case "--text" -> o.text = only(command, "inspect", a, value != null ? value : next(args, ++i, a));
          case "--tokens" -> o.tokens = only(command, "inspect", a, value != null ? value : next(args, ++i, a));
          case "--logits-out" -> o.logitsOut = only(command, "inspect", a,
              value != null ? value : next(args, ++i, a));
          default -> {
            if (a.startsWith("--set=")) {
              o.sets.add(a.substring("--set=".length()));
            } else {
              throw new UsageException("unknown option '" + a + "'");
            }
          }
        }
      }
      return o;
    }

    private static String next(List<String> args, int i, String option) {
      if (i >= args.size() || args.get(i).startsWith("--")) {
        throw new UsageException("option " + option + " needs a value");
      }
      return args.get(i);
    }

    private static String onlyOf(String command, List<String> allowed, String option, String value) {
      if (!allowed.contains(command)) {
        throw new UsageException("option " + option + " applies to " + String.join(", ", allowed) + " only");
      }
      return value;
    }

    private static String only(String command, String allowed, String option, String value) {
      if (!command.equals(allowed)) {
        throw new UsageException("option " + option + " applies to '" + allowed + "' only");
      }
      return value;
    }
  }
}
