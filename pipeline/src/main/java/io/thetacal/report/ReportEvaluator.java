package io.thetacal.report;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionOutputError;
import io.thetacal.attention.AttentionRow;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import io.thetacal.attention.ThresholdLookup;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.ModelFamily;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.SequenceOutput;
import io.thetacal.model.TransformerModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Runs the forward passes of a robustness report and measures every cell. For each evaluation dataset
 * the sequences are streamed in batches of similar length: each batch runs dense once (shared by every
 * cell), then once per top-k k and once per Top-θ cell (calibration dataset × k × placement ×
 * compensation), and every sparse output is compared with the dense one of the same batch straight away,
 * so that memory holds one batch of outputs plus per-cell accumulators (for encoders with retrieval pairs
 * also one pooled vector per sequence and cell). Sparse passes also measure each layer's attention output
 * against dense attention on the same layer input ({@link AttentionOutputError}); kept counts come from
 * the engine's own {@link AttentionStats}, so sparse passes carry no observer and their attention
 * kernels run on all of the engine's threads. Drift is measured on the dense pass, against the
 * calibration score histograms when given.
 */
public final class ReportEvaluator {
  public static final int BATCH_SIZE_DEFAULT = 16;

  private final TransformerModel model;
  private final int batchSize;

  /**
   * @param model the model to evaluate; its forward passes run one after another
   * @param batchSize sequences per forward pass
   */
  public ReportEvaluator(TransformerModel model, int batchSize) {
    this.model = Objects.requireNonNull(model, "model");
    if (batchSize <= 0) {
      throw new IllegalArgumentException("'batchSize' is set to " + batchSize + " but must be > 0");
    }
    this.batchSize = batchSize;
  }

  /**
   * The cells to measure.
   *
   * @param ks target k values
   * @param placements Top-θ placements to evaluate (tables of other placements are skipped)
   * @param compensations compensation variants; those that do not apply to a placement are skipped
   * @param topK whether to measure the exact top-k baseline at every k
   */
  public record Grid(List<Integer> ks, List<Placement> placements, List<Compensation> compensations,
      boolean topK) {
    public Grid {
      ks = List.copyOf(ks);
      placements = List.copyOf(placements);
      compensations = List.copyOf(compensations);
      if (ks.isEmpty()) {
        throw new IllegalArgumentException("'ks' is empty but must list at least one k");
      }
      for (int k : ks) {
        if (k <= 0) {
          throw new IllegalArgumentException("'ks' contains " + k + " but every k must be > 0");
        }
      }
    }
  }

  /**
   * A threshold table and the dataset it was calibrated on; its placement is the table's own.
   *
   * @param scoreHistograms per-head score histograms of the calibration data, for drift; empty for
   *     none. Tables of one calibration dataset (e.g. both placements) share the data, so drift is
   *     measured once per calibration dataset, against the first non-empty list given for it.
   */
  public record CalibratedThresholds(String calibrationDataset, ThresholdLookup table,
      List<HeadHistogram> scoreHistograms) {
    public CalibratedThresholds {
      Objects.requireNonNull(calibrationDataset, "calibrationDataset");
      Objects.requireNonNull(table, "table");
      scoreHistograms = scoreHistograms == null ? List.of() : List.copyOf(scoreHistograms);
    }
  }

  /**
   * An evaluation dataset of token-id sequences (special tokens included).
   *
   * @param partners for encoders' retrieval check: partners.get(i) is the text paired with
   *     sequences.get(i) (e.g. its other half); empty for none
   */
  public record EvalDataset(String name, List<int[]> sequences, List<int[]> partners) {
    public EvalDataset {
      Objects.requireNonNull(name, "name");
      sequences = List.copyOf(sequences);
      partners = partners == null ? List.of() : List.copyOf(partners);
      if (sequences.isEmpty()) {
        throw new IllegalArgumentException("evaluation dataset '" + name + "' has no sequences");
      }
      for (int i = 0; i < sequences.size(); i++) {
        if (sequences.get(i).length == 0) {
          throw new IllegalArgumentException(
              "evaluation dataset '" + name + "' sequence " + i + " has no tokens");
        }
      }
      if (!partners.isEmpty() && partners.size() != sequences.size()) {
        throw new IllegalArgumentException("evaluation dataset '" + name + "' has "
            + sequences.size() + " sequences but " + partners.size()
            + " partners; retrieval needs one partner per sequence");
      }
    }
  }

  /**
   * The measured cells (not yet judged) and the per-head drift of every calibration/evaluation pair.
   *
   * @param timing where the evaluation's time went
   */
  public record Result(List<ReportCell> cells, List<HeadDrift> drift, long forwardPasses,
      long sequences, Timing timing) {
    public Result {
      cells = List.copyOf(cells);
      drift = List.copyOf(drift);
    }
  }

  /**
   * Wall and process CPU seconds of the dense passes (with drift binning), the sparse passes (with the
   * dense attention output beside the sparse one) and the comparison of their outputs. Process CPU time
   * covers every thread of the JVM, so other work in the same process is counted too; NaN where the JVM
   * does not report it.
   */
  public record Timing(double denseWallSeconds, double denseCpuSeconds, double sparseWallSeconds,
      double sparseCpuSeconds, double compareWallSeconds, double compareCpuSeconds) {
  }

  /** Accumulates wall and process CPU time of one phase. */
  private static final class Clock {
    private static final com.sun.management.OperatingSystemMXBean OS = osBean();
    long wall;
    long cpu;
    private long wall0;
    private long cpu0;

    private static com.sun.management.OperatingSystemMXBean osBean() {
      return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.OperatingSystemMXBean b ? b : null;
    }

    static long processCpu() {
      return OS == null ? -1 : OS.getProcessCpuTime();
    }

    void start() {
      wall0 = System.nanoTime();
      cpu0 = processCpu();
    }

    void stop() {
      wall += System.nanoTime() - wall0;
      long c = processCpu();
      cpu = c < 0 || cpu0 < 0 || cpu < 0 ? -1 : cpu + (c - cpu0);
    }

    double wallSeconds() {
      return wall / 1e9;
    }

    double cpuSeconds() {
      return cpu < 0 ? Double.NaN : cpu / 1e9;
    }
  }

  private record Config(Method method, String calibrationDataset, int k, Placement placement,
      Compensation compensation, AttentionMode mode) {
  }

  /** Measures every cell of the grid on every evaluation dataset. */
  public Result evaluate(List<CalibratedThresholds> thresholds, List<EvalDataset> datasets, Grid grid) {
    Set<String> names = new HashSet<>();
    for (EvalDataset d : datasets) {
      if (!names.add(d.name())) {
        throw new IllegalArgumentException("evaluation dataset '" + d.name() + "' is listed twice");
      }
    }
    List<Config> configs = configs(thresholds, grid);
    List<ReportCell> cells = new ArrayList<>();
    List<HeadDrift> drift = new ArrayList<>();
    long passes = 0;
    long seqs = 0;
    Clock dense = new Clock();
    Clock sparse = new Clock();
    Clock compare = new Clock();
    for (EvalDataset d : datasets) {
      DatasetRun run = new DatasetRun(d, configs, thresholds, dense, sparse, compare);
      run.execute();
      cells.addAll(run.cells());
      drift.addAll(run.drift());
      passes += run.passes;
      seqs += d.sequences().size() + d.partners().size();
    }
    return new Result(cells, drift, passes, seqs, new Timing(dense.wallSeconds(), dense.cpuSeconds(),
        sparse.wallSeconds(), sparse.cpuSeconds(), compare.wallSeconds(), compare.cpuSeconds()));
  }

  private List<Config> configs(List<CalibratedThresholds> thresholds, Grid grid) {
    List<Config> out = new ArrayList<>();
    for (int k : new LinkedHashSet<>(grid.ks())) {
      if (grid.topK()) {
        out.add(new Config(Method.TOP_K, null, k, null, Compensation.NONE, AttentionMode.topK(k)));
      }
      for (CalibratedThresholds t : thresholds) {
        Placement p = t.table().placement();
        if (!grid.placements().contains(p)) {
          continue;
        }
        for (Compensation c : new LinkedHashSet<>(grid.compensations())) {
          if (c.appliesTo(p)) {
            out.add(new Config(Method.TOP_THETA, t.calibrationDataset(), k, p, c,
                c.applyTo(AttentionMode.topTheta(t.table(), k))));
          }
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("the grid selects no cell: no threshold table has a placement"
          + " in 'placements' " + grid.placements() + " and 'topK' is off");
    }
    return out;
  }

  /** One evaluation dataset's passes and accumulators. */
  private final class DatasetRun {
    private final EvalDataset data;
    private final ModelInfo info = model.info();
    private final boolean decoder = info.family() == ModelFamily.DECODER;
    private final List<int[]> items;
    private final int pairs;
    private final float[][] densePooled;
    private final List<Acc> accs = new ArrayList<>();
    private final Map<String, ScoreHistogramObserver> driftObservers = new LinkedHashMap<>();
    private final Clock denseClock;
    private final Clock sparseClock;
    private final Clock compareClock;
    private long passes;
    private double nllDense;

    DatasetRun(EvalDataset data, List<Config> configs, List<CalibratedThresholds> thresholds,
        Clock denseClock, Clock sparseClock, Clock compareClock) {
      this.data = data;
      this.denseClock = denseClock;
      this.sparseClock = sparseClock;
      this.compareClock = compareClock;
      items = new ArrayList<>(data.sequences());
      pairs = decoder ? 0 : data.partners().size();
      if (pairs > 0) {
        items.addAll(data.partners());
      }
      densePooled = decoder ? null : new float[items.size()][];
      for (Config c : configs) {
        accs.add(new Acc(c));
      }
      for (CalibratedThresholds t : thresholds) {
        if (!t.scoreHistograms().isEmpty()) {
          driftObservers.putIfAbsent(t.calibrationDataset(),
              new ScoreHistogramObserver(t.scoreHistograms()));
        }
      }
    }

    void execute() {
      AttentionObserver driftObserver = driftObservers.isEmpty() ? AttentionObserver.NONE
          : new Fanout(List.copyOf(driftObservers.values()));
      // Batches of similar lengths waste less padding; results go back to each item's own index.
      Integer[] order = new Integer[items.size()];
      Arrays.setAll(order, i -> i);
      Arrays.sort(order, Comparator.comparingInt(i -> items.get(i).length));
      for (int start = 0; start < order.length; start += batchSize) {
        int[] index = new int[Math.min(order.length, start + batchSize) - start];
        List<int[]> batch = new ArrayList<>(index.length);
        for (int i = 0; i < index.length; i++) {
          index[i] = order[start + i];
          batch.add(items.get(index[i]));
        }
        denseClock.start();
        ForwardResult dense = forward(new ForwardRequest(batch, AttentionMode.dense(), driftObserver,
            true, decoder));
        denseClock.stop();
        compareClock.start();
        for (int i = 0; i < batch.size(); i++) {
          SequenceOutput o = dense.sequences().get(i);
          if (decoder) {
            nllDense += Metrics.nextTokenNllSum(o.logits(), info.vocabSize(), batch.get(i));
          } else {
            densePooled[index[i]] = o.pooled().clone();
          }
        }
        compareClock.stop();
        for (Acc acc : accs) {
          sparseClock.start();
          ForwardResult sparse = forward(new ForwardRequest(batch, acc.config.mode(),
              AttentionObserver.NONE, true, decoder, true));
          sparseClock.stop();
          compareClock.start();
          acc.add(index, batch, dense, sparse);
          compareClock.stop();
        }
      }
    }

    private ForwardResult forward(ForwardRequest r) {
      passes++;
      return model.forward(r);
    }

    List<ReportCell> cells() {
      Retrieval denseRetrieval = pairs >= 2 ? Retrieval.evaluate(
          List.of(densePooled).subList(0, pairs), List.of(densePooled).subList(pairs, 2 * pairs))
          : null;
      long predicted = data.sequences().stream().mapToLong(s -> s.length - 1).sum();
      List<ReportCell> out = new ArrayList<>();
      for (Acc a : accs) {
        Quality q;
        if (decoder) {
          q = new DecoderQuality(predicted, predicted == 0 ? Double.NaN : nllDense / predicted,
              predicted == 0 ? Double.NaN : a.nllSparse / predicted, a.positions,
              a.positions == 0 ? Double.NaN : (double) a.top1 / a.positions);
        } else if (denseRetrieval != null) {
          Retrieval r = Retrieval.evaluate(List.of(a.pooled).subList(0, pairs),
              List.of(a.pooled).subList(pairs, 2 * pairs));
          q = new EncoderQuality(items.size(), a.cosineSum / items.size(), pairs,
              denseRetrieval.meanReciprocalRank(), r.meanReciprocalRank(), denseRetrieval.recallAt1(),
              r.recallAt1());
        } else {
          q = new EncoderQuality(items.size(), a.cosineSum / items.size(), 0, Double.NaN, Double.NaN,
              Double.NaN, Double.NaN);
        }
        Config c = a.config;
        List<Double> perLayer = Arrays.stream(a.attention.perLayerMean()).boxed().toList();
        out.add(new ReportCell(c.calibrationDataset(), data.name(), c.k(), c.placement(),
            c.compensation(), c.method(), a.kept.keptOverK(c.k()),
            a.stats.keptFractionOfThresholded(), a.stats.vRowFraction(),
            a.sqRef == 0 ? Double.NaN : Math.sqrt(a.sqDiff / a.sqRef), perLayer,
            a.attention.meanOverLayers(), q, null));
      }
      return out;
    }

    List<HeadDrift> drift() {
      List<HeadDrift> out = new ArrayList<>();
      driftObservers.forEach((cal, obs) -> out.addAll(obs.drift(cal, data.name())));
      return out;
    }

    /** Accumulates one cell over the batches. */
    private final class Acc {
      final Config config;
      final KeptHistogram kept = new KeptHistogram(info.numLayers());
      final AttentionStats stats = new AttentionStats(info.numLayers());
      final AttentionOutputError attention = new AttentionOutputError(info.numLayers());
      final float[][] pooled;
      double sqDiff;
      double sqRef;
      double nllSparse;
      long top1;
      long positions;
      double cosineSum;

      Acc(Config config) {
        this.config = config;
        pooled = pairs >= 2 ? new float[items.size()][] : null;
      }

      void add(int[] index, List<int[]> batch, ForwardResult dense, ForwardResult sparse) {
        stats.merge(sparse.stats());
        kept.add(sparse.stats());
        attention.merge(sparse.attentionError());
        for (int i = 0; i < batch.size(); i++) {
          SequenceOutput d = dense.sequences().get(i);
          SequenceOutput s = sparse.sequences().get(i);
          sqDiff += Metrics.squaredDistance(s.hidden(), d.hidden());
          sqRef += Metrics.squaredNorm(d.hidden());
          if (decoder) {
            nllSparse += Metrics.nextTokenNllSum(s.logits(), info.vocabSize(), batch.get(i));
            top1 += Metrics.top1Agreements(s.logits(), d.logits(), info.vocabSize(), s.length());
            positions += s.length();
          } else {
            cosineSum += Metrics.cosine(s.pooled(), d.pooled());
            if (pooled != null) {
              pooled[index[i]] = s.pooled().clone();
            }
          }
        }
      }
    }
  }

  /** Passes every row to several observers; forks when all of them fork. */
  private record Fanout(List<? extends AttentionObserver> observers) implements AttentionObserver {
    @Override
    public void onRow(AttentionRow row) {
      for (AttentionObserver o : observers) {
        o.onRow(row);
      }
    }

    @Override
    public AttentionObserver fork() {
      List<AttentionObserver> forks = new ArrayList<>(observers.size());
      for (AttentionObserver o : observers) {
        AttentionObserver f = o.fork();
        if (f == null) {
          for (int i = 0; i < forks.size(); i++) {
            observers.get(i).join(forks.get(i));
          }
          return null;
        }
        forks.add(f);
      }
      return new Fanout(forks);
    }

    @Override
    public void join(AttentionObserver forked) {
      List<? extends AttentionObserver> forks = ((Fanout) forked).observers();
      for (int i = 0; i < observers.size(); i++) {
        observers.get(i).join(forks.get(i));
      }
    }
  }
}
