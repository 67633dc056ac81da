package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RopeScalingTest {
  @TempDir
  Path tmp;

  private static void assertRelative(double expected, double actual, double tol, String what) {
    assertTrue(Math.abs(actual - expected) <= tol * Math.abs(expected), what + ": expected " + expected
        + " but was " + actual);
  }

  @Test
  void llama3TableMatchesTheValuesOfThePublishedFormula() {
    // LLaMA-3.1-8B: theta 500000, head 128, factor 8, low 1, high 4, original context 8192. Expected
    // values evaluated separately from Hugging Face's _compute_llama3_parameters: pairs 0..28 have
    // wavelengths below 8192 / 4 = 2048 (unchanged), 35..63 above 8192 (divided by 8), 29..34 in between.
    double[] inv = RopeScaling.llama3(8, 1, 4, 8192).inverseFrequencies(500000, 128);
    assertEquals(64, inv.length);
    double[][] expected = {
        {0, 1.0}, {20, 0.016560440080994446}, {28, 0.003211445994752591},
        {29, 0.002166570763503359}, {30, 0.0013718935677611381}, {33, 0.00031269375038406517},
        {34, 0.0001785078127679964}, {35, 9.556212353964683e-05}, {40, 3.428102195952591e-05},
        {63, 3.068925988914511e-07}};
    for (double[] e : expected) {
      assertRelative(e[1], inv[(int) e[0]], 1e-12, "pair " + (int) e[0]);
    }
  }

  @Test
  void linearScalingDividesEveryFrequencyByTheFactor() {
    double[] inv = RopeScaling.linear(4).inverseFrequencies(10000, 64);
    assertRelative(0.05928434264154138, inv[5], 1e-14, "pair 5 = 10000^(-10/64) / 4");
    double[] plain = RopeScaling.NONE.inverseFrequencies(10000, 64);
    for (int i = 0; i < inv.length; i++) {
      assertEquals(plain[i] / 4, inv[i]);
    }
  }

  @Test
  void ggufRopeFreqsFactorsFromLlamaCppsConverterGiveTheLlama3Table() {
    // convert_hf_to_gguf.py stores per-pair divisors: 1, factor, or 1 / ((1 - s) / factor + s)
    int dim = 128;
    double theta = 500000;
    float[] factors = new float[dim / 2];
    for (int i = 0; i < factors.length; i++) {
      double wavelen = 2 * Math.PI * Math.pow(theta, 2.0 * i / dim);
      if (wavelen < 8192 / 4.0) {
        factors[i] = 1;
      } else if (wavelen > 8192) {
        factors[i] = 8;
      } else {
        double s = (8192 / wavelen - 1) / (4 - 1);
        factors[i] = (float) (1 / ((1 - s) / 8 + s));
      }
    }
    double[] viaFactors = RopeScaling.freqFactors(factors).inverseFrequencies(theta, dim);
    double[] llama3 = RopeScaling.llama3(8, 1, 4, 8192).inverseFrequencies(theta, dim);
    for (int i = 0; i < llama3.length; i++) {
      assertRelative(llama3[i], viaFactors[i], 1e-7, "pair " + i);
    }
  }

  private Path hfWith(String ropeScaling) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("hf" + Math.abs(ropeScaling.hashCode())));
    Files.copy(Golden.file("hf/model.safetensors"), dir.resolve("model.safetensors"));
    Files.writeString(dir.resolve("config.json"), Files.readString(Golden.file("hf/config.json"))
        .replace("\"rope_scaling\": null", "\"rope_scaling\": " + ropeScaling));
    return dir;
  }

  @Test
  void configJsonRopeScalingIsReadAndChangesTheLogits() throws Exception {
    LlamaModel linear = LlamaModels.load(hfWith("{\"rope_type\": \"linear\", \"factor\": 2.0}"));
    assertEquals(RopeScaling.linear(2), linear.config().ropeScaling());
    LlamaModel llama3 = LlamaModels.load(hfWith("{\"rope_type\": \"llama3\", \"factor\": 8.0, "
        + "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 256}"));
    assertEquals(RopeScaling.llama3(8, 1, 4, 256), llama3.config().ropeScaling());
    // head 8, theta 1e4: wavelengths 6.3, 63, 628, 6283 against 256 / 4 = 64 and 256: the last two pairs
    // are divided by 8
    double[] inv = llama3.invFreq();
    assertArrayEquals(new double[] {1, 0.1, 0.01 / 8, 0.001 / 8}, inv, 1e-15);
    LlamaModel legacyKey = LlamaModels.load(hfWith("{\"type\": \"linear\", \"factor\": 2.0}"));
    assertEquals(RopeScaling.linear(2), legacyKey.config().ropeScaling());
    LlamaModel dflt = LlamaModels.load(hfWith("{\"rope_type\": \"default\"}"));
    float[] plain = LlamaGoldenLogitsTest.logits(dflt);
    assertTrue(Golden.maxAbsDiff(plain, Golden.floats("logits-f32.f32")) < 1e-4);
    assertTrue(Golden.maxAbsDiff(plain, LlamaGoldenLogitsTest.logits(linear)) > 1e-2);
    assertTrue(Golden.maxAbsDiff(plain, LlamaGoldenLogitsTest.logits(llama3)) > 1e-2);
  }

  @Test
  void ggufLinearScalingEqualsTheSameFactorAsRopeFreqs() throws Exception {
    LlamaConfig c = new LlamaConfig(64, 32, 64, 2, 4, 2, 8, 8, 10000.0, 1e-5, 64, RopeLayout.ADJACENT_PAIRS,
        false, false);
    Path plain = tmp.resolve("plain.gguf");
    Path linear = tmp.resolve("linear.gguf");
    Path freqs = tmp.resolve("freqs.gguf");
    new GgufModelWriter(c, TensorType.F32).write(plain, 3, 0.3);
    new GgufModelWriter(c, TensorType.F32).metadata("llama.rope.scaling.type", "linear")
        .metadata("llama.rope.scaling.factor", 4f).metadata("llama.rope.scaling.original_context_length", 16L)
        .write(linear, 3, 0.3);
    new GgufModelWriter(c, TensorType.F32).vector("rope_freqs.weight", new float[] {4, 4, 4, 4})
        .write(freqs, 3, 0.3);
    LlamaModel a = LlamaModels.load(linear);
    LlamaModel b = LlamaModels.load(freqs);
    assertEquals(RopeScaling.linear(4), a.config().ropeScaling());
    assertEquals(RopeScaling.freqFactors(new float[] {4, 4, 4, 4}), b.config().ropeScaling());
    int[] tokens = {1, 5, 9, 22, 40, 63, 7, 7, 7, 3, 30, 12};
    float[] la = a.newSession(io.thetacal.attention.AttentionMode.dense(), null, null, 0).prefill(tokens);
    float[] lb = b.newSession(io.thetacal.attention.AttentionMode.dense(), null, null, 0).prefill(tokens);
    assertArrayEquals(la, lb);
    float[] lp = LlamaModels.load(plain).newSession(io.thetacal.attention.AttentionMode.dense(), null, null, 0)
        .prefill(tokens);
    assertTrue(Golden.maxAbsDiff(la, lp) > 1e-3, "scaling must change the logits");
  }

  @Test
  void unknownScalingTypesFailNamingTheKeyAndTheSupportedValues() throws Exception {
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> LlamaModels.load(hfWith("{\"rope_type\": \"yarn\", \"factor\": 4.0}")));
    assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("'rope_scaling.rope_type' is 'yarn'")
        && e.getMessage().contains("default, linear, llama3"), e.getMessage());
    e = assertThrows(ModelLoadException.class,
        () -> LlamaModels.load(hfWith("{\"rope_type\": \"llama3\", \"factor\": 8.0}")));
    assertTrue(e.getMessage().contains("'rope_scaling.low_freq_factor' is missing"), e.getMessage());
    e = assertThrows(ModelLoadException.class,
        () -> LlamaModels.load(hfWith("{\"rope_type\": \"linear\", \"factor\": -2}")));
    assertTrue(e.getMessage().contains("'factor' is set to -2.0 but must be > 0"), e.getMessage());

    LlamaConfig c = new LlamaConfig(64, 32, 64, 1, 4, 2, 8, 8, 10000.0, 1e-5, 64, RopeLayout.ADJACENT_PAIRS,
        false, false);
    Path yarn = tmp.resolve("yarn.gguf");
    new GgufModelWriter(c, TensorType.F32).metadata("llama.rope.scaling.type", "yarn")
        .metadata("llama.rope.scaling.factor", 4f).write(yarn, 1, 0.1);
    e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(yarn));
    assertTrue(e.getMessage().contains("'llama.rope.scaling.type' is 'yarn'")
        && e.getMessage().contains("none, linear"), e.getMessage());
    Path noFactor = tmp.resolve("nofactor.gguf");
    new GgufModelWriter(c, TensorType.F32).metadata("llama.rope.scaling.type", "linear").write(noFactor, 1, 0.1);
    e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(noFactor));
    assertTrue(e.getMessage().contains("'llama.rope.scaling.factor' is missing"), e.getMessage());
    Path badFreqs = tmp.resolve("badfreqs.gguf");
    new GgufModelWriter(c, TensorType.F32).vector("rope_freqs.weight", new float[] {1, 2, 3})
        .write(badFreqs, 1, 0.1);
    e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(badFreqs));
    assertTrue(e.getMessage().contains("rope_freqs.weight") && e.getMessage().contains("[4]"), e.getMessage());
  }
}
