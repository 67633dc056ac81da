package io.thetacal.jobs.spark;

import io.thetacal.attention.AttentionMode;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Models;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.thetacal.model.TextTokenizer;
import io.thetacal.model.TransformerModel;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-JVM model cache through which Spark tasks reach models: each executor JVM loads a model
 * ({@link Models#load}) once, on first use, and every later task on that JVM reuses it. Keyed by model
 * id or path. Models are thread-safe for concurrent forward passes, so tasks running side by side on one
 * executor share the instance.
 */
public final class ExecutorModels {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorModels.class);
  private static final int WARM_UP_LIMIT = 40;
  private static final ConcurrentHashMap<String, TransformerModel> MODELS = new ConcurrentHashMap<>();
  private static final AtomicInteger MODEL_LOADS = new AtomicInteger();

  private ExecutorModels() {
  }

  /** The tokenizer of a model, with the size of its vocabulary. */
  public record Tokenizer(TextTokenizer tokenizer, int vocabSize) {
  }

  /** The cached model {@code id}, loaded (and warmed up) on first use in this JVM. */
  public static TransformerModel model(String id) {
    return MODELS.computeIfAbsent(id, k -> {
      MODEL_LOADS.incrementAndGet();
      long t0 = System.nanoTime();
      TransformerModel m = Models.load(k);
      long t1 = System.nanoTime();
      int passes = warmUp(m);
      long t2 = System.nanoTime();
      LOG.info(String.format(java.util.Locale.ROOT, "loaded model %s (%d layers x %d heads) in %.2f s; stable after"
          + " %d warm-up passes in %.2f s", k, m.info().numLayers(), m.info().numHeads(), (t1 - t0) / 1e9, passes,
          (t2 - t1) / 1e9));
      return m;
    });
  }

  /**
   * Runs a fixed batch until three passes in a row give bitwise identical attention scores, and returns
   * the passes it took (at most {@value #WARM_UP_LIMIT}). Some vectorised reductions of the forward pass
   * round differently before and after the JIT compiles them, so a fresh JVM's first passes can differ
   * in the last bits from later ones; calibration must see the same scores on every executor, whether it
   * is fresh or not.
   */
  static int warmUp(TransformerModel model) {
    TextTokenizer tok = model.tokenizer();
    String text = "Calibration measures the attention scores of every layer and head, row by row, so that "
        + "thresholds for any k come from one pass over the corpus. ";
    int[] base = tok.encode(text.repeat(8));
    int max = Math.min(128, model.info().maxPositions());
    List<int[]> batch = new ArrayList<>();
    for (int len : new int[] {8, 24, 48, 96, max}) {
      batch.add(Arrays.copyOf(base, Math.min(Math.min(len, max), base.length)));
    }
    long last = 0;
    int same = 0;
    int passes = 0;
    while (passes < WARM_UP_LIMIT && same < 3) {
      long[] sum = {0};
      model.forward(new ForwardRequest(batch, AttentionMode.dense(), row -> {
        for (int j = 0; j < row.n(); j++) {
          sum[0] = sum[0] * 31 + Float.floatToRawIntBits(row.score(j));
        }
      }, false, false));
      passes++;
      same = passes > 1 && sum[0] == last ? same + 1 : 1;
      last = sum[0];
    }
    return passes;
  }

  /** The tokenizer of the cached model {@code id}. */
  public static Tokenizer tokenizer(String id) {
    TransformerModel m = model(id);
    return new Tokenizer(m.tokenizer(), m.info().vocabSize());
  }

  /** How many models this JVM has loaded (tests pin load-once behaviour with it). */
  public static int modelLoads() {
    return MODEL_LOADS.get();
  }
}
