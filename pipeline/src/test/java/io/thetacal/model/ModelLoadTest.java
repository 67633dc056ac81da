package io.thetacal.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.bert.OrtOracle;
import io.thetacal.model.onnx.ProtoWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading by id and path, and the errors for missing, truncated and wrong model files. */
class ModelLoadTest {
  private static byte[] onnx;
  private static byte[] tokenizer;

  @TempDir
  Path dir;

  @BeforeAll
  static void readDefault() throws Exception {
    onnx = OrtOracle.resource("all-minilm-l6-v2.onnx");
    tokenizer = OrtOracle.resource("all-minilm-l6-v2-tokenizer.json");
  }

  private Path write(String name, byte[] bytes) throws Exception {
    Path p = dir.resolve(name);
    Files.write(p, bytes);
    Files.write(dir.resolve("tokenizer.json"), tokenizer);
    return p;
  }

  private static String loadError(Path p) {
    return assertThrows(ModelLoadException.class, () -> Models.load(p.toString())).getMessage();
  }

  @Test
  void loadsFromPathWithTokenizerBesideAndHashesTheFile() throws Exception {
    Path p = write("mini.onnx", onnx);
    try (TransformerModel byPath = Models.load(p.toString());
        TransformerModel byId = Models.load(Models.DEFAULT_ID)) {
      assertEquals(byId.info().contentHash(), byPath.info().contentHash());
      assertEquals(64, byId.info().contentHash().length());
      assertEquals(6, byId.info().numLayers());
      assertEquals(12, byId.info().numHeads());
      assertEquals(32, byId.info().headDim());
      assertEquals(512, byId.info().maxPositions());
      List<int[]> one = List.of(byId.tokenizer().encode("The cat sat on the mat."));
      assertTrue(Arrays.equals(byId.forward(ForwardRequest.of(one)).sequences().get(0).pooled(),
          byPath.forward(ForwardRequest.of(one)).sequences().get(0).pooled()));
    }
  }

  @Test
  void unknownIdListsKnownIdsAndPathForms() {
    String msg = assertThrows(ModelLoadException.class, () -> Models.load("minilm")).getMessage();
    assertTrue(msg.contains("'minilm'") && msg.contains("all-minilm-l6-v2") && msg.contains("e5-small-v2")
        && msg.contains(".onnx") && msg.contains("tokenizer.json"), msg);
  }

  @Test
  void missingFileIsNamed() {
    Path p = dir.resolve("absent.onnx");
    String msg = loadError(p);
    assertTrue(msg.contains(p.toString()) && msg.contains("not found"), msg);
  }

  @Test
  void missingTokenizerIsNamed() throws Exception {
    Path p = dir.resolve("lonely.onnx");
    Files.write(p, onnx);
    String msg = loadError(p);
    assertTrue(msg.contains("tokenizer.json") && msg.contains("lonely-tokenizer.json"), msg);
  }

  @Test
  void truncatedFileIsReportedAsTruncated() throws Exception {
    Path p = write("truncated.onnx", Arrays.copyOf(onnx, onnx.length / 2));
    String msg = loadError(p);
    assertTrue(msg.contains(p.toString()) && msg.contains("truncated"), msg);
  }

  /**
   * A tokenizer.json with a byte that is not UTF-8 is refused with the file and the byte named, before the native
   * library sees it: a fuzzed file whose special-token name held such a byte aborted the JVM.
   */
  @Test
  void tokenizerThatIsNotUtf8IsRefusedWithTheFileNamed() throws Exception {
    String json = new String(tokenizer, java.nio.charset.StandardCharsets.UTF_8);
    int at = json.indexOf("\"[CLS]\"");
    assertTrue(at > 0, "the default tokenizer names [CLS]");
    byte[] bad = Arrays.copyOf(tokenizer, tokenizer.length);
    bad[at + 5] = (byte) 0xff;
    Path p = dir.resolve("bad-tokenizer.json");
    Files.write(p, bad);
    String msg = assertThrows(ModelLoadException.class, () -> HfTokenizer.fromFile(p)).getMessage();
    assertTrue(msg.contains(p.toString()) && msg.contains("not valid UTF-8: byte offset " + (at + 5)), msg);
  }

  @Test
  void fileThatIsNotOnnxIsRejected() throws Exception {
    Path json = write("json.onnx", tokenizer);
    String msg = loadError(json);
    assertTrue(msg.contains(json.toString()) && msg.contains("not a valid ONNX model"), msg);
    Path empty = write("empty.onnx", new byte[0]);
    assertTrue(loadError(empty).contains("empty"), loadError(empty));
  }

  @Test
  void initializerWithUnexpectedShapeIsNamedWithBothShapes() throws Exception {
    Path p = write("reshaped.onnx", ProtoWriter.withInitializerDims(onnx, "onnx::MatMul_885", 384, 100));
    String msg = loadError(p);
    assertTrue(msg.contains(p.toString()), msg);
    assertTrue(msg.contains("initializer 'onnx::MatMul_885' has shape [384, 100] but [384, 384] was expected"),
        msg);
  }
}
