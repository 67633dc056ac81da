package io.thetacal.model.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.HfTokenizer;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.onnx.OnnxGraph;
import io.thetacal.model.onnx.OnnxReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seeds of {@link LoaderFuzzTest} are what their names say, and the fuzzer's findings stay fixed. */
class LoaderSeedsTest {
  private static final String DIR = "LoaderFuzzTestInputs/";

  @TempDir
  Path tmp;

  static byte[] seed(String name) throws IOException {
    try (InputStream in = LoaderSeedsTest.class.getResourceAsStream(DIR + name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void onnxSeedWithoutLargeInitializersKeepsTheRealGraph() throws IOException {
    OnnxGraph g = OnnxReader.read(ByteBuffer.wrap(seed("onnx/onnx-small-initializers")), "seed");
    assertTrue(g.nodes().size() > 100, "nodes: " + g.nodes().size());
    assertTrue(g.initializers().size() > 10, "initializers: " + g.initializers().size());
    assertThrows(ModelLoadException.class,
        () -> OnnxReader.read(ByteBuffer.wrap(seed("onnx/onnx-prefix-4k")), "prefix"));
  }

  @Test
  void tokenizerSeedEncodesAndATokenizerThatCannotEncodeIsRefusedAtLoad() throws IOException {
    Path ok = Files.write(tmp.resolve("tokenizer.json"), seed("tokenizer/tokenizer-small"));
    try (HfTokenizer t = HfTokenizer.fromFile(ok)) {
      int[] ids = t.encode("the");
      assertEquals(101, ids[0]);
      assertEquals(102, ids[ids.length - 1]);
    }
    // found by LoaderFuzzTest: parses, but its WordPiece vocabulary lost [UNK], so encoding failed later
    // with a bare RuntimeException from the native library
    Path noUnk = Files.write(tmp.resolve("no-unk.json"), seed("tokenizer/wordpiece-without-unk-token"));
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> HfTokenizer.fromFile(noUnk));
    assertTrue(e.getMessage().contains("no-unk.json") && e.getMessage().contains("[UNK]"), e.getMessage());
    // found by LoaderFuzzTest: a syntax error inside "decoder" made the native parser panic and abort the JVM
    Path bad = Files.write(tmp.resolve("bad.json"), seed("tokenizer/malformed-json-in-decoder"));
    ModelLoadException m = assertThrows(ModelLoadException.class, () -> HfTokenizer.fromFile(bad));
    assertTrue(m.getMessage().contains("bad.json") && m.getMessage().contains("(line 1, column 15"), m.getMessage());
    // found by LoaderFuzzTest: the template names "[CLS]" but defines "[CLS_"; every encode panicked
    Path template = Files.write(tmp.resolve("template.json"), seed("tokenizer/template-with-undefined-special-token"));
    ModelLoadException u = assertThrows(ModelLoadException.class, () -> HfTokenizer.fromFile(template));
    assertTrue(u.getMessage().contains("special token '[CLS]'"), u.getMessage());
  }

  @Test
  void stateSeedsDeserializeAndRoundTrip() throws IOException {
    for (String name : new String[] {"empty-1x2x12", "empty-1x1x4-nohist"}) {
      byte[] b = seed("calibrationState/" + name);
      assertArrayEquals(b, CalibrationState.deserialize(b).serialize(), name);
    }
  }
}
