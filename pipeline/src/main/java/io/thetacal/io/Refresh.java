package io.thetacal.io;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.CorpusPartition;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.RefreshPlan;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.calibration.Watermark;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One incremental refresh of a {@link ThresholdStore}, configured fluently and run by
 * {@link #execute()}: under the store's lock, the partitions present are compared with the current
 * version's watermark; only the new ones are calibrated (by the caller's {@link Calibrator}), their state
 * is merged into the current state, thresholds are derived with the same config and estimator, the gate
 * judges the candidate, and the candidate is published (pointer switched, old versions pruned) or kept
 * as rejected with its report. With no new partition nothing is calibrated or published.
 */
public final class Refresh {
  private final ThresholdStore store;
  private String modelId;
  private String modelContentHash;
  private CalibrationGeometry geometry;
  private CalibrationConfig config;
  private Placement placement;
  private List<CorpusPartition> partitions;
  private Calibrator calibrator;
  private CandidateGate gate = CandidateGate.none();
  private int retention = 10;
  private long seed;
  private Map<String, Long> counts = Map.of();
  private java.util.function.Supplier<Map<String, Long>> calibrationCounts = Map::of;
  private Corrector corrector;

  /** Computes the calibration state of the given partitions only (e.g. a Spark job over them). */
  @FunctionalInterface
  public interface Calibrator {
    CalibrationState calibrate(List<CorpusPartition> partitions) throws IOException;
  }

  /**
   * Fits the {@link DepthCorrection} of the thresholds derived from the merged state, given every
   * partition present (the calibrate job draws its sample from all of them, so a refresh must too).
   */
  @FunctionalInterface
  public interface Corrector {
    DepthCorrection fit(ThresholdTable table, List<CorpusPartition> present) throws IOException;
  }

  private Refresh(ThresholdStore store) {
    this.store = Objects.requireNonNull(store, "store");
  }

  public static Refresh of(ThresholdStore store) {
    return new Refresh(store);
  }

  /** The model: its id, the SHA-256 of its weights and its geometry. */
  public Refresh model(String id, String contentHash, CalibrationGeometry modelGeometry) {
    this.modelId = id;
    this.modelContentHash = contentHash;
    this.geometry = modelGeometry;
    return this;
  }

  /** The model as loaded: its id, content hash and geometry. */
  public Refresh model(io.thetacal.model.ModelInfo info) {
    return model(info.id(), info.contentHash(), CalibrationGeometry.of(info));
  }

  /** The calibration config; must equal the current version's. */
  public Refresh config(CalibrationConfig c) {
    this.config = c;
    return this;
  }

  /** The placement of the published table; must be one of the config's. */
  public Refresh placement(Placement p) {
    this.placement = p;
    return this;
  }

  /** Every corpus partition present now (new and already calibrated). */
  public Refresh partitions(List<CorpusPartition> present) {
    this.partitions = List.copyOf(present);
    return this;
  }

  public Refresh calibrator(Calibrator c) {
    this.calibrator = c;
    return this;
  }

  /** Shifts the derived thresholds by a depth correction before they are gated (default: none). */
  public Refresh corrector(Corrector c) {
    this.corrector = Objects.requireNonNull(c, "corrector");
    return this;
  }

  public Refresh gate(CandidateGate g) {
    this.gate = Objects.requireNonNull(g, "gate");
    return this;
  }

  /** How many published versions to keep (>= 2). */
  public Refresh retention(int keep) {
    this.retention = keep;
    return this;
  }

  public Refresh seed(long s) {
    this.seed = s;
    return this;
  }

  /**
   * Further counts recorded in the manifest of the version made (e.g. how the state was captured),
   * next to {@code partitions} and {@code newPartitions}.
   */
  public Refresh counts(Map<String, Long> extra) {
    this.counts = Map.copyOf(extra);
    return this;
  }

  /**
   * Counts the calibrator measures while it runs (e.g. sequences it set aside), read right after it
   * returned and recorded in the manifest of the version made, next to {@link #counts}.
   */
  public Refresh calibrationCounts(java.util.function.Supplier<Map<String, Long>> measured) {
    this.calibrationCounts = Objects.requireNonNull(measured, "measured");
    return this;
  }

  /**
   * Runs the refresh.
   *
   * @throws StoreLock.LockedException when another refresh, promote or rollback holds the store
   * @throws IllegalArgumentException naming the setting when the model, config or placement differs
   *     from the current version's, or a calibrated partition changed
   */
  public RefreshResult execute() throws IOException {
    require(modelId, "model");
    require(config, "config");
    require(placement, "placement");
    require(partitions, "partitions");
    require(calibrator, "calibrator");
    if (!config.hasPlacement(placement)) {
      throw new IllegalArgumentException("'placement' is set to " + placement
          + " but the config measures only " + config.placements());
    }
    if (retention < 2) {
      throw new IllegalArgumentException("'retention' is set to " + retention
          + " but must be >= 2 (the current version and the one a rollback returns to)");
    }
    try (StoreLock lock = store.lock("refresh")) {
      List<String> warnings = new ArrayList<>();
      lock.staleHolder().ifPresent(h -> warnings.add("the previous holder of the store lock, " + h
          + ", ended without releasing it (killed or crashed); its leftovers were removed"));
      if (lock.staleHolder().isPresent()) {
        store.cleanLeftovers(lock);
      }
      String current = store.current().orElse(null);
      Watermark mark = Watermark.empty();
      CalibrationState currentState = null;
      if (current != null) {
        ThresholdManifest m = store.manifest(current);
        checkContinues(current, m);
        mark = store.record(current).map(VersionRecord::watermark).orElseThrow(() ->
            new IOException("the current version " + current + " has no " + VersionRecord.FILE_NAME
                + " and so no data watermark; it was published by a full calibration that a refresh"
                + " cannot continue. Publish a first version with 'thetacal refresh' on an empty"
                + " output root"));
        currentState = store.state(current);
      }
      RefreshPlan plan = RefreshPlan.of(mark, partitions);
      if (plan.nothingNew()) {
        return new RefreshResult(RefreshResult.Outcome.NOTHING_NEW, null, current, current, mark,
            List.of(), plan.removedPartitions(), null, List.of(), warnings);
      }
      CalibrationState state = calibrator.calibrate(plan.newPartitions());
      Map<String, Long> measured = calibrationCounts.get();
      if (!state.geometry().equals(geometry) || !state.config().equals(config)) {
        throw new IllegalStateException("the calibrator returned a state of " + state.geometry()
            + " and " + state.config() + " but the refresh is configured for " + geometry + " and "
            + config);
      }
      if (currentState != null) {
        state.merge(currentState);
      }
      ThresholdTable table = ThresholdTable.from(state, placement, config.estimatorInstance());
      DepthCorrection correction = corrector == null ? null : corrector.fit(table, partitions);
      if (correction != null) {
        table = correction.apply(table);
      }
      Watermark next = plan.next();
      Provenance provenance = Provenance.capture(modelId, modelContentHash, config,
          CorpusPartitions.fingerprints(next), seed, store.clock());
      Map<String, Long> allCounts = new java.util.TreeMap<>(counts);
      allCounts.putAll(measured);
      allCounts.put("partitions", (long) next.partitionCount());
      allCounts.put("newPartitions", (long) plan.newPartitions().size());
      ThresholdManifest manifest = ThresholdManifest.of(table, state, provenance, allCounts, null,
          correction);
      String version = store.nextVersionName();
      CandidateGate.Candidate candidate = new CandidateGate.Candidate(version, table, state, manifest);
      CandidateGate.Verdict verdict = gate.evaluate(candidate);
      VersionRecord record = new VersionRecord(VersionRecord.FORMAT_VERSION, version, current,
          Instant.now(store.clock()).toString(), next, plan.newPartitions().size(), verdict);
      if (!verdict.pass()) {
        store.reject(lock, candidate, record);
        List<String> pruned = store.prune(lock, retention);
        return new RefreshResult(RefreshResult.Outcome.REJECTED, version, current, current, next,
            plan.newPartitions(), plan.removedPartitions(), verdict, pruned, warnings);
      }
      store.publish(lock, candidate, record);
      List<String> pruned = store.prune(lock, retention);
      return new RefreshResult(RefreshResult.Outcome.PUBLISHED, version, current, version, next,
          plan.newPartitions(), plan.removedPartitions(), verdict, pruned, warnings);
    }
  }

  private void checkContinues(String current, ThresholdManifest m) {
    Provenance p = m.provenance();
    if (!p.modelContentHash().equals(modelContentHash)) {
      throw new IllegalArgumentException("'model' has weights with SHA-256 " + modelContentHash
          + " but the current version " + current + " was calibrated on " + p.modelId()
          + " with SHA-256 " + p.modelContentHash() + "; a refresh must use the same model");
    }
    if (!m.geometry().equals(geometry)) {
      throw new IllegalArgumentException("the model's geometry " + geometry
          + " differs from the current version's " + m.geometry());
    }
    RefreshPlan.requireCompatible(p.config(), config);
    if (m.placement() != placement) {
      throw new IllegalArgumentException("'placement' is set to " + placement
          + " but the current version " + current + " has " + m.placement());
    }
  }

  private static void require(Object v, String key) {
    if (v == null) {
      throw new IllegalStateException("the refresh needs '" + key + "' to be set before execute()");
    }
  }
}
