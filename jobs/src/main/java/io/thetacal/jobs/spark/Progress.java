package io.thetacal.jobs.spark;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import scala.Tuple4;

/**
 * Driver-side progress of a long Spark job: two accumulators (units done, tokens done) that tasks add to
 * as they go, read both from finished tasks and from running tasks' executor heartbeats, and a daemon
 * thread that logs "done/total, tokens/s, time left" at a fixed interval.
 */
public final class Progress implements AutoCloseable {
  private final SparkContext sc;
  private final Logger log;
  private final String what;
  private final long total;
  private final LongAccumulator units;
  private final LongAccumulator tokens;
  private final Listener listener = new Listener();
  private final Thread thread;
  private final long start = System.nanoTime();

  private Progress(SparkContext sc, Logger log, String what, long total, Duration interval) {
    this.sc = sc;
    this.log = log;
    this.what = what;
    this.total = total;
    this.units = sc.longAccumulator(what + ".units");
    this.tokens = sc.longAccumulator(what + ".tokens");
    sc.addSparkListener(listener);
    thread = new Thread(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          Thread.sleep(interval.toMillis());
          log.info(line());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "thetacal-progress");
    thread.setDaemon(true);
    thread.start();
  }

  /** Starts reporting progress toward {@code total} units (e.g. sequences). */
  public static Progress start(SparkContext sc, Logger log, String what, long total, Duration interval) {
    return new Progress(sc, log, what, total, interval);
  }

  /** Accumulator that tasks add finished units to. */
  public LongAccumulator units() {
    return units;
  }

  /** Accumulator that tasks add processed tokens to. */
  public LongAccumulator tokens() {
    return tokens;
  }

  /** Units done so far: finished tasks plus what running tasks last reported. */
  public long unitsDone() {
    return units.value() + listener.running(units.id());
  }

  public long tokensDone() {
    return tokens.value() + listener.running(tokens.id());
  }

  /** The progress line, e.g. "calibrate: 120/400 sequences (30.0%), 2100 tokens/s, about 40 s left". */
  public String line() {
    long done = Math.min(unitsDone(), total);
    double secs = (System.nanoTime() - start) / 1e9;
    double rate = tokensDone() / Math.max(secs, 1e-3);
    String left = done == 0 ? "time left unknown"
        : "about " + format(Duration.ofMillis((long) (secs * 1000 * (total - done) / done))) + " left";
    return String.format(Locale.ROOT, "%s: %d/%d sequences (%.1f%%), %.0f tokens/s, %s", what, done, total,
        total == 0 ? 100.0 : 100.0 * done / total, rate, left);
  }

  static String format(Duration d) {
    long s = d.toSeconds();
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s / 60) % 60)
        : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + " s";
  }

  @Override
  public void close() {
    thread.interrupt();
    sc.removeSparkListener(listener);
  }

  /** Keeps the last accumulator values that running tasks reported in executor heartbeats. */
  private static final class Listener extends SparkListener {
    private final Map<Long, Map<Long, Long>> byAccumulator = new ConcurrentHashMap<>();

    long running(long accumulatorId) {
      Map<Long, Long> m = byAccumulator.get(accumulatorId);
      return m == null ? 0 : m.values().stream().mapToLong(Long::longValue).sum();
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
      scala.collection.Iterator<Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>>> it =
          update.accumUpdates().iterator();
      while (it.hasNext()) {
        Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t = it.next();
        long taskId = (Long) t._1();
        scala.collection.Iterator<AccumulableInfo> infos = t._4().iterator();
        while (infos.hasNext()) {
          AccumulableInfo info = infos.next();
          if (info.update().isDefined() && info.update().get() instanceof Long v) {
            byAccumulator.computeIfAbsent(info.id(), k -> new ConcurrentHashMap<>()).put(taskId, v);
          }
        }
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      long taskId = end.taskInfo().taskId();
      byAccumulator.values().forEach(m -> m.remove(taskId));
    }
  }
}
