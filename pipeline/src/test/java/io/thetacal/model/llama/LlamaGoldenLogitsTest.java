package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.ModelFamily;
import java.util.List;
import org.junit.jupiter.api.Test;

class LlamaGoldenLogitsTest {

  static float[] logits(LlamaModel model) {
    ForwardResult r = model.forward(ForwardRequest.of(List.of(Golden.tokens())));
    return r.sequences().get(0).logits();
  }

  @Test
  void f32GgufReproducesLlamaCppLogits() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    assertEquals(ModelFamily.DECODER, model.info().family());
    assertEquals(3, model.info().numLayers());
    assertEquals(8, model.info().numHeads());
    assertEquals(2, model.info().numKvHeads());
    assertEquals(300, model.info().vocabSize());
    assertEquals(RopeLayout.ADJACENT_PAIRS, model.config().ropeLayout());
    double diff = Golden.maxAbsDiff(logits(model), Golden.floats("logits-f32.f32"));
    assertTrue(diff <= 1e-4, "max abs diff " + diff);
  }
}
