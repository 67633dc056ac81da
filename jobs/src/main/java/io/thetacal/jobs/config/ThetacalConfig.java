package io.thetacal.jobs.config;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Everything a thetacal job reads: the model, the corpora, ingest, calibration, report, refresh, Spark and
 * output settings.
 * Built by {@link ConfigLoader} from the embedded {@code default.yaml}, a user file and {@code --set}
 * overrides, and validated as a whole, so that a job never starts on a half-valid configuration.
 */
public record ThetacalConfig(
    ModelSettings model,
    List<DatasetSpec> corpora,
    IngestSettings ingest,
    CalibrationSettings calibration,
    ReportSettings report,
    RefreshSettings refresh,
    SparkSettings spark,
    OutputSettings output) {

  public ThetacalConfig {
    corpora = corpora == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(corpora));
  }

  /** The dataset spec with this name. */
  public DatasetSpec dataset(String name) {
    return corpora.stream().filter(d -> d.name().equals(name)).findFirst()
        .orElseThrow(() -> new ConfigException("No dataset named '" + name + "' in 'corpora'; known: "
            + corpora.stream().map(DatasetSpec::name).toList()));
  }

  public ThetacalConfig withOutputRoot(String root) {
    return new ThetacalConfig(model, corpora, ingest, calibration, report, refresh, spark,
        new OutputSettings(root));
  }

  /** The same configuration calibrating on other datasets. */
  public ThetacalConfig withCalibrationDatasets(List<String> datasets) {
    CalibrationSettings c = calibration;
    return new ThetacalConfig(model, corpora, ingest, new CalibrationSettings(datasets, c.kGrid(), c.sigmaAdd(),
        c.placements(), c.estimator(), c.topKAtCalibration(), c.maxSequences(), c.holdoutSequences(), c.maxRejectedFraction(),
        c.depthCorrectionSequences()), report,
        refresh, spark, output);
  }

  void validate(Problems p) {
    if (!p.missing("model", model)) {
      model.validate("model", p);
    }
    if (!p.missing("corpora", corpora)) {
      if (corpora.isEmpty()) {
        p.mustBe("corpora", corpora, "a non-empty list of datasets");
      }
      Set<String> names = new HashSet<>();
      for (int i = 0; i < corpora.size(); i++) {
        String key = "corpora[" + i + "]";
        DatasetSpec d = corpora.get(i);
        if (!p.missing(key, d)) {
          d.validate(key, p);
          if (d.name() != null && !names.add(d.name())) {
            p.add("'" + key + ".name' is set to '" + d.name() + "' but dataset names must be unique");
          }
        }
      }
    }
    if (!p.missing("ingest", ingest)) {
      ingest.validate("ingest", p);
    }
    if (!p.missing("calibration", calibration)) {
      calibration.validate("calibration", p, corpora == null ? Set.of() : names());
    }
    if (!p.missing("report", report)) {
      report.validate("report", p, corpora == null ? Set.of() : names());
    }
    if (!p.missing("refresh", refresh)) {
      refresh.validate("refresh", p, corpora == null ? Set.of() : names(),
          calibration == null ? null : calibration.placements());
    }
    if (!p.missing("spark", spark)) {
      spark.validate("spark", p);
    }
    if (!p.missing("output", output)) {
      p.notBlank("output.root", output.root());
    }
  }

  private Set<String> names() {
    Set<String> s = new HashSet<>();
    for (DatasetSpec d : corpora) {
      if (d != null && d.name() != null) {
        s.add(d.name());
      }
    }
    return s;
  }
}
