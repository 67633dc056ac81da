package io.thetacal.jobs.cli;

import io.thetacal.attention.Placement;
import io.thetacal.io.StoreLock;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionRecord;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.refresh.RefreshJob;
import io.thetacal.jobs.refresh.RefreshJobResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;

/**
 * {@code thetacal refresh | versions | promote VERSION | rollback}: thin adapters over the threshold
 * stores ({@code <output.root>/thresholds/<placement>/}, where calibrate publishes). They read the same
 * configuration as every job ({@code --conf FILE} merged over the embedded default, {@code --set
 * key=value}, {@code --out DIR}); {@code --placement P} picks one placement's store (versions, promote and
 * rollback default to the first refreshed placement; refresh refreshes {@code refresh.placements}). Exit
 * codes: 0 published, nothing new, or switched; 1 error; 2 bad usage or configuration; 3 the gate
 * rejected a candidate; 4 a store lock is held by another process (the message names it).
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
    List<String> sets = new ArrayList<>();
    boolean printConfig = false;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        value = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      switch (a) {
        case "--help", "-h" -> {
          out.print(Thetacal.usage());
          return 0;
        }
        case "--print-config" -> printConfig = true;
        case "--conf", "--out", "--placement", "--set" -> {
          if (value == null) {
            if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
              err.println("thetacal " + command + ": option " + a + " needs a value");
              return 2;
            }
            value = args.get(++i);
          }
          switch (a) {
            case "--conf" -> conf = value;
            case "--out" -> outDir = value;
            case "--set" -> sets.add(value);
            default -> placement = value;
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
    ThetacalConfig config;
    Path output;
    Placement p = null;
    try {
      config = ConfigLoader.load(conf == null ? null : Path.of(conf), sets);
      if (outDir != null) {
        config = config.withOutputRoot(outDir);
      }
      if (printConfig) {
        out.print(ConfigLoader.toYaml(config));
        return 0;
      }
      output = RefreshJob.localRoot(config.output().root());
      if (placement != null) {
        try {
          p = Placement.valueOf(placement.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
          throw new ConfigException("'--placement' is set to '" + placement
              + "' but must be pre_softmax or post_softmax");
        }
      }
    } catch (ConfigException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return 2;
    }
    Placement one = p != null ? p
        : config.refresh().placementsOr(config.calibration().placements()).get(0);
    ThresholdStore store = RefreshJob.store(output, one, Clock.systemUTC());
    try {
      return switch (command) {
        case "refresh" -> refresh(config, p, out, err);
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
    } catch (ConfigException e) {
      err.println("thetacal " + command + ": " + e.getMessage());
      return 2;
    } catch (IOException | RuntimeException e) {
      StoreLock.LockedException locked = Thetacal.cause(e, StoreLock.LockedException.class);
      if (locked != null) {
        err.println("thetacal " + command + ": " + locked.getMessage());
        return LOCKED;
      }
      err.println("thetacal " + command + ": " + e.getMessage());
      return 1;
    }
  }

  private static int refresh(ThetacalConfig config, Placement only, PrintStream out, PrintStream err)
      throws IOException {
    SparkSession spark = SparkSession.builder().appName("thetacal refresh").getOrCreate();
    RefreshJob job = new RefreshJob(spark).config(config);
    if (only != null) {
      job.placements(List.of(only));
    }
    RefreshJobResult result = job.execute();
    result.placements().forEach((placement, r) -> {
      String name = placement.name().toLowerCase(Locale.ROOT);
      r.warnings().forEach(w -> err.println("thetacal refresh: warning: " + name + ": " + w));
      out.println("refresh " + name + ": " + r.message());
      if (!r.pruned().isEmpty()) {
        out.println("  pruned: " + String.join(", ", r.pruned()));
      }
      if (!r.removedPartitions().isEmpty()) {
        out.println("  no longer in the corpus (their rows stay in the state): " + r.removedPartitions().size()
            + " partitions");
      }
    });
    out.printf(Locale.ROOT, "refresh: %s in %.1f s%n", result.nothingNew() ? "nothing new, nothing published"
        : result.calibratedSequences() + " new sequences calibrated", result.elapsed().toMillis() / 1000.0);
    return result.anyRejected() ? REJECTED : 0;
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
