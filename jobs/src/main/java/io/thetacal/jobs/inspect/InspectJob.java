package io.thetacal.jobs.inspect;

import io.thetacal.attention.AttentionMode;
import io.thetacal.io.RawFloats;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.jobs.spark.JobSupport;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.ModelFamily;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TransformerModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code thetacal inspect}: one text (or token list) through the model with dense attention, every
 * attention row captured, written as Parquet: one row per (layer, head, row, col) with the scaled
 * pre-softmax score and the dense softmax probability. Decoders can also write their logits as raw
 * little-endian float32 [tokens × vocab], the layout llama.cpp tools dump.
 */
public final class InspectJob {
  /** Columns of the inspect output. */
  public static final StructType SCHEMA = new StructType()
      .add("layer", DataTypes.IntegerType, false)
      .add("head", DataTypes.IntegerType, false)
      .add("row", DataTypes.IntegerType, false)
      .add("col", DataTypes.IntegerType, false)
      .add("score", DataTypes.FloatType, false)
      .add("probability", DataTypes.DoubleType, false);

  private final SparkSession spark;
  private String modelId;
  private String text;
  private int[] tokens;
  private Path output;
  private Path logitsOutput;

  public InspectJob(SparkSession spark) {
    this.spark = Objects.requireNonNull(spark, "spark");
  }

  public InspectJob model(String idOrPath) {
    this.modelId = idOrPath;
    return this;
  }

  /** Text to tokenize with the model's tokenizer (special tokens added). */
  public InspectJob text(String t) {
    this.text = t;
    return this;
  }

  /** Token ids to use as they are, instead of a text. */
  public InspectJob tokens(int[] ids) {
    this.tokens = ids.clone();
    return this;
  }

  /** The Parquet file to write (required). */
  public InspectJob output(Path file) {
    this.output = file;
    return this;
  }

  /** Also write the logits (decoders only). */
  public InspectJob logitsOutput(Path file) {
    this.logitsOutput = file;
    return this;
  }

  public InspectResult execute() {
    if (modelId == null || modelId.isBlank()) {
      throw new ConfigException("inspect needs --model ID|PATH");
    }
    if ((text == null) == (tokens == null)) {
      throw new ConfigException("inspect needs exactly one of --text \"...\" or --tokens ID,ID,...");
    }
    if (output == null) {
      throw new ConfigException("inspect needs --out FILE.parquet");
    }
    TransformerModel model = ExecutorModels.model(modelId);
    ModelInfo info = model.info();
    if (logitsOutput != null && info.family() != ModelFamily.DECODER) {
      throw new ConfigException("--logits-out is set but model '" + modelId + "' is an " + info.family()
          + " and has no logits; leave --logits-out out or use a decoder");
    }
    int[] ids = tokens != null ? tokens : model.tokenizer().encode(text);
    if (ids.length == 0) {
      throw new ConfigException("--text gives no tokens");
    }
    if (ids.length > info.maxPositions()) {
      throw new ConfigException("the input has " + ids.length + " tokens but model '" + modelId
          + "' takes at most " + info.maxPositions());
    }
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= info.vocabSize()) {
        throw new ConfigException("'--tokens[" + i + "]' is set to " + ids[i] + " but must be in [0, "
            + info.vocabSize() + ")");
      }
    }
    List<Row> rows = new ArrayList<>();
    ForwardResult result = model.forward(new ForwardRequest(List.of(ids), AttentionMode.dense(), r -> {
      for (int j = 0; j < r.n(); j++) {
        float s = r.score(j);
        rows.add(RowFactory.create(r.layer(), r.head(), r.row(), j, s, r.probabilityOf(s)));
      }
    }, false, logitsOutput != null));
    try {
      Path abs = output.toAbsolutePath();
      Files.createDirectories(abs.getParent());
      JobSupport.withJobGroup(spark, "thetacal-inspect", "inspect: write " + abs, () -> {
        try {
          JobSupport.writeSingleParquet(spark, rows, SCHEMA, abs);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return null;
      });
      if (logitsOutput != null) {
        float[] logits = result.sequences().get(0).logits();
        RawFloats.write(logitsOutput.toAbsolutePath(), logits);
      }
      return new InspectResult(abs.toString(), modelId, ids, rows.size(), info.numLayers(), info.numHeads(),
          Optional.ofNullable(logitsOutput).map(p -> p.toAbsolutePath().toString()), info.vocabSize());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + output, e);
    }
  }
}
