package io.thetacal.jobs.cli;

import io.thetacal.attention.Placement;
import io.thetacal.io.RefreshResult;
import io.thetacal.io.RefreshSettings;
import io.thetacal.io.StoreLock;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionRecord;
import io.thetacal.jobs.refresh.RefreshJob;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;

/**
 * {@code thetacal refresh | versions | promote VERSION | rollback}: thin adapters over the threshold
 * store of one placement ({@code <output>/thresholds/<placement>/}, where calibrate publishes).
 * The store is named by a refresh config ({@code --conf conf/refresh.yaml}: its output and placement)
 * or by {@code --out DIR [--placement pre_softmax|post_softmax]}. Exit codes: 0 published, nothing
 * new, or switched; 1 error; 2 bad usage or configuration; 3 the gate rejected the candidate; 4 the
 * store lock is held by another process.
 */
final class StoreCommands {
  static final int REJECTED = 3;
  static final int LOCKED = 4;

  private StoreCommands() {
  }

  static boolean handles(String command) {
    return List.of("refresh", "versions", "promote", "rollback").contains(command);
  }

  static int run(String command, List<String> args, PrintStream out, PrintStream err) {
    String conf = null;
    String outDir = null;
    String placement = null;
    String version = null;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      switch (a) {
        case "--help", "-h" -> {
          out.print(Thetacal.usage());
          return 0;
        }
        case "--conf", "--out", "--placement" -> {
          if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
            err.println("thetacal " + command + ": option " + a + " needs a value");
            return 2;
          }
          String v = args.get(++i);
          if (a.equals("--conf")) {
            conf = v;
          } else if (a.equals("--out")) {
            outDir = v;
          } else {
            placement = v;
          }
        }
        default -> {
          if (a.startsWith("--") || !command.equals("promote") || version != null) {
            err.println("thetacal " + command + ": unknown " + (a.startsWith("--") ? "option" : "argument")
                + " '" + a + "'");
            err.print(Thetacal.usage());
            return 2;
          }
          version = a;
        }
      }
    }
    if (command.equals("promote") && version == null) {
      err.println("thetacal promote: which version? usage: thetacal promote VERSION (see 'thetacal versions')");
      return 2;
    }
    RefreshSettings settings = null;
    Path output;
    Placement p;
    try {
      if (conf != null) {
        settings = RefreshSettings.read(Path.of(conf));
      }
      if (command.equals("refresh") && settings == null) {
        err.println("thetacal refresh: --conf conf/refresh.yaml is required");
        return 2;
      }
      output = outDir != null ? Path.of(outDir) : settings != null ? Path.of(settings.output()) : null;
      if (output == null) {
        err.println("thetacal " + command + ": name the store with --conf conf/refresh.yaml or --out DIR");
        return 2;
      }
      p = placement != null ? Placement.valueOf(placement.toUpperCase(Locale.ROOT))
          : settings != null ? settings.placement() : Placement.PRE_SOFTMAX;
    } catch (IllegalArgumentException e) {
      err.println("thetacal " + command + ": '--placement' is set to '" + placement
          + "' but must be pre_softmax or post_softmax");
      return 2;
    } catch (IOException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return 2;
    }
    ThresholdStore store = RefreshJob.store(output, p, Clock.systemUTC());
    try {
      return switch (command) {
        case "refresh" -> refresh(settings, outDir, out, err);
        case "versions" -> versions(store, out);
        case "promote" -> {
          String before = store.current().orElse("none");
          store.promote(version);
          out.println("current: " + version + " (was " + before + ") in " + store.root());
          yield 0;
        }
        default -> {
          String before = store.current().orElse("none");
          String now = store.rollback();
          out.println("current: " + now + " (rolled back from " + before + ") in " + store.root());
          yield 0;
        }
      };
    } catch (StoreLock.LockedException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return LOCKED;
    } catch (IOException | RuntimeException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return 1;
    }
  }

  private static int refresh(RefreshSettings s, String outDir, PrintStream out, PrintStream err)
      throws IOException {
    if (outDir != null) {
      s = new RefreshSettings(s.model(), outDir, s.datasets(), s.textColumn(), s.holdout(), s.placement(),
          s.gate(), s.retention(), s.seed(), s.calibration());
    }
    SparkSession spark = SparkSession.builder().appName("thetacal refresh").getOrCreate();
    RefreshResult r = new RefreshJob(spark).settings(s).execute();
    r.warnings().forEach(w -> err.println("thetacal refresh: warning: " + w));
    out.println("refresh: " + r.message());
    if (!r.pruned().isEmpty()) {
      out.println("  pruned: " + String.join(", ", r.pruned()));
    }
    if (!r.removedPartitions().isEmpty()) {
      out.println("  no longer in the corpus (their rows stay in the state): " + r.removedPartitions().size()
          + " partitions");
    }
    return r.outcome() == RefreshResult.Outcome.REJECTED ? REJECTED : 0;
  }

  private static int versions(ThresholdStore store, PrintStream out) throws IOException {
    List<ThresholdStore.Listing> list = store.list();
    out.println("versions in " + store.root());
    out.printf(Locale.ROOT, "  %-32s %-24s %-34s %s%n", "version", "created", "watermark", "gate");
    for (ThresholdStore.Listing l : list) {
      VersionRecord r = l.record();
      String created = r == null ? "-" : r.createdAt();
      String mark = r == null ? "none (not refreshable)" : watermark(r);
      String gate = r == null ? "-" : (r.gate().pass() ? "pass" : "FAIL") + " (" + r.gate().gate() + ")";
      out.printf(Locale.ROOT, "%s %-32s %-24s %-34s %s%n", l.current() ? "*" : " ", l.version(), created, mark,
          gate);
    }
    if (list.isEmpty()) {
      out.println("  (none)");
    }
    out.println("current: " + store.current().orElse("none"));
    return 0;
  }

  private static String watermark(VersionRecord r) {
    Map<String, Integer> per = new TreeMap<>();
    r.watermark().datasets().forEach((d, parts) -> per.put(d, parts.size()));
    return per.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue()).collect(Collectors.joining(","))
        + " (" + r.watermark().partitionCount() + " partitions)";
  }
}
