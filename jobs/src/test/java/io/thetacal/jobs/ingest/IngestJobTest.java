package io.thetacal.jobs.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestJobTest {
  private static SparkSession spark;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void setUp() throws IOException {
    spark = SharedSpark.get();
    Files.writeString(tmp.resolve("lines.txt"), String.join("\n",
        "The committee adopted the report on fisheries after a short debate.",
        "",
        "Members asked the Commission to publish the figures before the summer.",
        "x".repeat(3000),
        "A final sentence about the budget."), StandardCharsets.UTF_8);
    Files.writeString(tmp.resolve("docs.jsonl"), String.join("\n",
        "{\"id\": \"a\", \"body\": \"Parliament approved the agreement.\"}",
        "{\"id\": \"b\", \"body\": null}",
        "{\"id\": \"c\", \"body\": \"" + "word ".repeat(200) + "\"}",
        "{not json",
        "{\"id\": \"e\", \"body\": 17}"), StandardCharsets.UTF_8);
    StructType schema = new StructType().add("id", DataTypes.StringType)
        .add("ids", DataTypes.createArrayType(DataTypes.IntegerType));
    List<Row> rows = List.of(
        RowFactory.create("p1", new int[] {101, 2023, 2003, 102}),
        RowFactory.create("p2", new int[] {101, 999999, 102}),
        RowFactory.create("p3", new int[] {101, -1, 102}),
        RowFactory.create("p4", new int[] {101, 7592, 2088, 102}));
    spark.createDataFrame(rows, schema).coalesce(1).write().parquet(tmp.resolve("ids.parquet").toString());
  }

  private static ThetacalConfig config(String corpora, String... sets) {
    List<String> all = new ArrayList<>(List.of("model.max_sequence_length=32", "spark.partitions=3",
        "ingest.max_text_chars=2000", "ingest.max_rejected_fraction=1.0"));
    all.addAll(List.of(sets));
    String yaml = "corpora:\n" + corpora + "calibration:\n  datasets: [" + firstName(corpora) + "]\n";
    return ConfigLoader.fromYaml(yaml, "test", all);
  }

  private static String firstName(String corpora) {
    int i = corpora.indexOf("name: ") + 6;
    return corpora.substring(i, corpora.indexOf(',', i));
  }

  private static Map<String, String> rejected(String root, String dataset) {
    return spark.read().parquet(root + "/rejected/ingest").filter("dataset = '" + dataset + "'")
        .collectAsList().stream().collect(Collectors.toMap(r -> r.getAs("doc_id"), r -> r.getAs("reject_reason")));
  }

  @Test
  void textJsonlAndParquetSourcesBecomeSequencesAndRejections() {
    String out = tmp.resolve("out-files").toString();
    ThetacalConfig c = config(
        "  - {name: txt, source: {type: text, path: '" + tmp.resolve("lines.txt") + "'}}\n"
        + "  - {name: js, source: {type: jsonl, path: '" + tmp.resolve("docs.jsonl")
        + "', text_field: body, id_field: id}}\n"
        + "  - {name: pq, source: {type: parquet, path: '" + tmp.resolve("ids.parquet")
        + "', tokens_field: ids, id_field: id}}\n");
    IngestResult r = ThetacalJobs.get(spark).ingest().config(c).outputRoot(out).execute();

    DatasetIngestResult txt = r.dataset("txt");
    assertEquals(5, txt.documents());
    assertEquals(2, txt.rejected());
    assertEquals(Map.of("empty_text", 1L, "text_too_long", 1L), txt.rejectedByReason());
    assertEquals(3, txt.sequences());

    DatasetIngestResult js = r.dataset("js");
    assertEquals(5, js.documents());
    assertEquals(Map.of("empty_text", 1L, "malformed_json", 1L, "wrong_type", 1L), js.rejectedByReason());
    // "word " x 200 is 202 tokens with [CLS]/[SEP]: windows of 30 content tokens -> 7 sequences.
    assertEquals(1 + 7, js.sequences());
    assertEquals(Map.of("b", "empty_text", "e", "wrong_type"),
        rejected(out, "js").entrySet().stream().filter(e -> !e.getKey().startsWith("docs.jsonl"))
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));

    DatasetIngestResult pq = r.dataset("pq");
    assertEquals(Map.of("token_out_of_vocabulary", 2L), pq.rejectedByReason());
    assertEquals(Map.of("p2", "token_out_of_vocabulary", "p3", "token_out_of_vocabulary"), rejected(out, "pq"));

    Dataset<Row> seqs = spark.read().parquet(r.corporaPath());
    assertEquals(r.sequences(), seqs.count());
    Row p1 = seqs.filter("doc_id = 'p1'").first();
    assertEquals(List.of(101, 2023, 2003, 102), p1.getList(p1.fieldIndex("input_ids")));
    assertTrue(seqs.filter("n_tokens > 32 or n_tokens != size(input_ids)").isEmpty());
    assertEquals(64, txt.fingerprint().length());
    assertTrue(Files.exists(Path.of(out, "corpora", "_manifests", "js.json")));
  }

  @Test
  void europarlIsSplitByLanguageIntoOneDatasetEach() {
    String out = tmp.resolve("out-europarl").toString();
    ThetacalConfig c = config(
        "  - {name: ep-en, source: {type: europarl, language: en, max_docs: 120}}\n"
        + "  - {name: ep-de, source: {type: europarl, language: de, max_docs: 120}}\n");
    IngestResult r = ThetacalJobs.get(spark).ingest().config(c).outputRoot(out).execute();
    assertEquals(120, r.dataset("ep-en").documents());
    assertEquals(120, r.dataset("ep-de").documents());
    assertEquals(r.dataset("ep-en").fingerprint(), r.dataset("ep-de").fingerprint());
    assertEquals(0, r.rejected());
    // Language check on the tokens: English function words are frequent in ep-en and rare in ep-de.
    var tok = ExecutorModels.tokenizer("all-minilm-l6-v2").tokenizer();
    int the = tok.encode("the")[1];
    int der = tok.encode("der")[1];
    Dataset<Row> seqs = spark.read().parquet(r.corporaPath());
    double theInEn = share(seqs, "ep-en", the);
    double theInDe = share(seqs, "ep-de", the);
    double derInEn = share(seqs, "ep-en", der);
    double derInDe = share(seqs, "ep-de", der);
    assertTrue(theInEn > 5 * theInDe, "'the' in en " + theInEn + " vs de " + theInDe);
    assertTrue(derInDe > 5 * derInEn, "'der' in de " + derInDe + " vs en " + derInEn);
  }

  private static double share(Dataset<Row> seqs, String dataset, int token) {
    Dataset<Row> d = seqs.filter("dataset = '" + dataset + "'");
    return d.filter("array_contains(input_ids, " + token + ")").count() / (double) d.count();
  }

  @Test
  void javaSourcesComeFromTheSourcesJar() {
    String out = tmp.resolve("out-java").toString();
    ThetacalConfig c = config("  - {name: code, source: {type: java_sources, "
        + "artifact: 'org.apache.commons:commons-lang3:3.20.0', max_docs: 10}}\n",
        "ingest.max_text_chars=1000000");
    IngestResult r = ThetacalJobs.get(spark).ingest().config(c).outputRoot(out).execute();
    DatasetIngestResult d = r.dataset("code");
    assertEquals(10, d.documents());
    assertTrue(d.sequences() > 10, "java files are longer than 32 tokens: " + d.sequences());
    assertTrue(spark.read().parquet(r.corporaPath()).filter("doc_id like 'org/apache/commons/lang3/%.java'")
        .count() == d.sequences());
  }

  @Test
  void splitAndSequencesDoNotDependOnPartitioning() {
    String corpora = "  - {name: ep, source: {type: europarl, language: fr, max_docs: 80}}\n";
    IngestResult a = ThetacalJobs.get(spark).ingest().config(config(corpora, "spark.partitions=1"))
        .outputRoot(tmp.resolve("out-p1").toString()).execute();
    IngestResult b = ThetacalJobs.get(spark).ingest().config(config(corpora, "spark.partitions=5"))
        .outputRoot(tmp.resolve("out-p5").toString()).execute();
    assertEquals(sorted(a.corporaPath()), sorted(b.corporaPath()));
    assertTrue(a.dataset("ep").holdoutSequences() > 0 && a.dataset("ep").calibrationSequences() > 0);
    IngestResult otherSeed = ThetacalJobs.get(spark).ingest()
        .config(config(corpora, "ingest.seed=99")).outputRoot(tmp.resolve("out-s99").toString()).execute();
    assertFalse(sorted(a.corporaPath()).equals(sorted(otherSeed.corporaPath())));
  }

  private static List<String> sorted(String path) {
    return spark.read().parquet(path).collectAsList().stream()
        .map(r -> r.getAs("doc_id") + "/" + r.getAs("seq_id") + "/" + r.getAs("split") + "/"
            + r.getList(r.fieldIndex("input_ids")) + "/" + r.getAs("source_fingerprint"))
        .sorted().toList();
  }

  @Test
  void tooManyRejectionsStopTheJobNamingTheDatasetAndWriteNoSequences() {
    String out = tmp.resolve("out-fail").toString();
    ThetacalConfig c = config(
        "  - {name: pq, source: {type: parquet, path: '" + tmp.resolve("ids.parquet")
        + "', tokens_field: ids, id_field: id}}\n", "ingest.max_rejected_fraction=0.25");
    IngestException e = assertThrows(IngestException.class,
        () -> ThetacalJobs.get(spark).ingest().config(c).outputRoot(out).execute());
    assertTrue(e.getMessage().contains("dataset 'pq' rejected 2 of 4 documents (50.0%)"), e.getMessage());
    assertTrue(e.getMessage().contains("ingest.max_rejected_fraction = 0.25"), e.getMessage());
    assertFalse(Files.exists(Path.of(out, "corpora", "dataset=pq")));
    assertEquals(2, rejected(out, "pq").size());
  }

  @Test
  void missingParquetColumnIsNamed() {
    ThetacalConfig c = config("  - {name: pq, source: {type: parquet, path: '" + tmp.resolve("ids.parquet")
        + "', text_field: body}}\n");
    IngestException e = assertThrows(IngestException.class,
        () -> ThetacalJobs.get(spark).ingest().config(c).outputRoot(tmp.resolve("o").toString()).execute());
    assertTrue(e.getMessage().contains("'text_field' names column 'body'"), e.getMessage());
    assertTrue(e.getMessage().contains(Arrays.asList("id", "ids").toString()), e.getMessage());
  }
}
