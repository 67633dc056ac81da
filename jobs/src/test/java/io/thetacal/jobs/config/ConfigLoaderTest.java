package io.thetacal.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

  private static ConfigException bad(String yaml, String... sets) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.fromYaml(yaml, "test.yaml", List.of(sets)));
  }

  private static void assertMessage(ConfigException e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), () -> "expected '" + p + "' in: " + e.getMessage());
    }
  }

  @Test
  void embeddedDefaultIsValidAndHasThreeDomains() {
    ThetacalConfig c = ConfigLoader.load(List.of());
    assertEquals("all-minilm-l6-v2", c.model().id());
    assertEquals(List.of(16, 32, 64, 128, 256), c.calibration().kGrid());
    assertEquals(List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX), c.calibration().placements());
    assertEquals(3, c.corpora().size());
    assertEquals(0.1, c.calibration().sigmaAdd());
  }

  @Test
  void userFileMergesOverDefaultsKeyByKey() {
    ThetacalConfig c = ConfigLoader.fromYaml("model:\n  batch_size: 4\n", "test.yaml", List.of());
    assertEquals(4, c.model().batchSize());
    assertEquals("all-minilm-l6-v2", c.model().id());
    assertEquals(512, c.model().maxSequenceLength());
  }

  @Test
  void unknownKeyIsRejectedWithItsPathAndTheKnownKeys() {
    ConfigException e = bad("calibration:\n  kgrid: [1]\n");
    assertMessage(e, "'calibration.kgrid' is not a known key", "k_grid", "sigma_add");
  }

  @Test
  void unknownTopLevelKeyIsRejected() {
    assertMessage(bad("modle:\n  id: x\n"), "'modle' is not a known key", "model", "corpora");
  }

  @Test
  void unknownKeyInsideAListElementNamesTheIndex() {
    ConfigException e = bad("corpora:\n  - name: a\n    source: {type: text, path: /tmp, colour: red}\n");
    assertMessage(e, "'corpora[0].source.colour' is not a known key", "text_field");
  }

  @Test
  void wrongTypeNamesTheKeyAndTheExpectedType() {
    assertMessage(bad("model:\n  batch_size: many\n"), "'model.batch_size' is set to 'many'", "an integer");
  }

  @Test
  void wrongTypeInsideAListNamesTheElement() {
    assertMessage(bad("calibration:\n  k_grid: [16, 32, lots]\n"), "'calibration.k_grid[2]'", "an integer");
  }

  @Test
  void fractionalNumberForAnIntegerIsRejected() {
    assertMessage(bad("model:\n  batch_size: 2.5\n"), "'model.batch_size'", "an integer");
  }

  @Test
  void outOfRangeValueIsRejectedWithTheAllowedRange() {
    assertMessage(bad("calibration:\n  k_grid: [16, 32, -4]\n"),
        "'calibration.k_grid[2]' is set to -4 but must be an integer > 0");
    assertMessage(bad("ingest:\n  holdout_fraction: 1.5\n"),
        "'ingest.holdout_fraction' is set to 1.5 but must be in [0, 1)");
    assertMessage(bad("model:\n  batch_size: 0\n"), "'model.batch_size' is set to 0 but must be > 0");
    assertMessage(bad("calibration:\n  sigma_add: -1\n"), "'calibration.sigma_add' is set to -1.0");
  }

  @Test
  void unknownEnumValueListsTheAllowedValues() {
    assertMessage(bad("calibration:\n  estimator: median\n"), "'calibration.estimator' is set to 'median'",
        "mean_std", "histogram_quantile");
    assertMessage(bad("calibration:\n  placements: [pre_softmax, sideways]\n"),
        "'calibration.placements[1]'", "pre_softmax", "post_softmax");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    ConfigException e = bad("model:\n  batch_size: 0\nspark:\n  partitions: -1\n");
    assertEquals(2, e.problems().size(), e.getMessage());
  }

  @Test
  void sourceFieldsThatDoNotApplyToTheTypeAreRejected() {
    assertMessage(bad("corpora:\n  - name: a\n    source: {type: europarl, language: en, path: /x}\n"),
        "'corpora[0].source.path' does not apply to source type 'europarl'");
    assertMessage(bad("corpora:\n  - name: a\n    source: {type: europarl, language: xx}\n"),
        "'corpora[0].source.language' is set to 'xx' but must be one of");
    assertMessage(bad("corpora:\n  - name: a\n    source: {type: jsonl, path: /x}\n"),
        "must set exactly one of 'text_field' or 'tokens_field'");
  }

  @Test
  void calibrationDatasetsMustNameCorpora() {
    assertMessage(bad("calibration:\n  datasets: [europarl-en, wikipedia]\n"),
        "'calibration.datasets[1]' is set to 'wikipedia' but must be the name of a dataset in 'corpora'");
  }

  @Test
  void duplicateDatasetNamesAreRejected() {
    assertMessage(bad("corpora:\n  - {name: a, source: {type: europarl, language: en}}\n"
        + "  - {name: a, source: {type: europarl, language: de}}\ncalibration: {datasets: [a]}\n"),
        "'corpora[1].name' is set to 'a' but dataset names must be unique");
  }

  @Test
  void setOverridesAreTypedByTheRecords() {
    ThetacalConfig c = ConfigLoader.load(List.of("calibration.k_grid=8,24", "model.batch_size=3",
        "calibration.top_k_at_calibration=true", "calibration.placements=post_softmax",
        "corpora[1].source.max_docs=7", "output.root=/tmp/x"));
    assertEquals(List.of(8, 24), c.calibration().kGrid());
    assertEquals(3, c.model().batchSize());
    assertTrue(c.calibration().topKAtCalibration());
    assertEquals(List.of(Placement.POST_SOFTMAX), c.calibration().placements());
    assertEquals(7, c.corpora().get(1).source().maxDocs());
    assertEquals("/tmp/x", c.output().root());
  }

  @Test
  void setWithUnknownKeyListsTheKnownKeys() {
    assertMessage(bad(null, "model.batchsize=3"), "'model.batchsize' is not a known key", "batch_size");
  }

  @Test
  void setWithWrongTypeNamesTheKey() {
    assertMessage(bad(null, "model.batch_size=three"), "'model.batch_size' is set to 'three' but must be an integer");
    assertMessage(bad(null, "calibration.k_grid=16,x"), "'calibration.k_grid[1]' is set to 'x'");
    assertMessage(bad(null, "calibration.top_k_at_calibration=yes"), "must be true or false");
    assertMessage(bad(null, "calibration.estimator=median"), "must be one of [mean_std, histogram_quantile]");
  }

  @Test
  void setOutOfRangeIsCaughtByValidation() {
    assertMessage(bad(null, "calibration.k_grid=16,0"), "'calibration.k_grid[1]' is set to 0");
  }

  @Test
  void setWithoutEqualsSignIsRejected() {
    assertMessage(bad(null, "model.batch_size"), "--set expects key=value");
  }

  @Test
  void setOfAListIndexBeyondTheEndIsRejected() {
    assertMessage(bad(null, "corpora[9].name=x"), "'corpora' has no element [9] (it has 3)");
  }

  @Test
  void invalidYamlNamesTheFileAndLine() {
    assertMessage(bad("model: [\n"), "test.yaml is not valid YAML");
  }
}
