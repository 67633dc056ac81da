package io.thetacal.model.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.HfTokenizer;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.onnx.OnnxGraph;
import io.thetacal.model.onnx.OnnxReader;
import io.thetacal.model.onnx.OnnxTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Tag;

/**
 * Coverage-guided fuzzing of the other loaders: the ONNX weights reader, tokenizer.json loading (the
 * native HuggingFace library behind {@link HfTokenizer}) and the calibration state deserializer. Any
 * input must load or fail with the loader's own exception ({@link ModelLoadException}, or
 * {@link IllegalArgumentException} for a state); anything else, or a JVM crash, is a bug. Seeds come from
 * the real all-minilm-l6-v2 files (the ONNX graph with its large initializers dropped, a 4 KB prefix;
 * the tokenizer.json with its vocabulary cut to the first 1,500 ids, a prefix) and real serialized
 * states. Run with {@code JAZZER_FUZZ=1}; plain runs replay the kept inputs under
 * {@code src/test/resources/io/thetacal/model/fuzz/LoaderFuzzTestInputs/}.
 */
@Tag("slow")
class LoaderFuzzTest {
  private static final Path TOKENIZER_FILE;

  static {
    try {
      TOKENIZER_FILE = Files.createTempFile("thetacal-fuzz-tokenizer-", ".json");
      TOKENIZER_FILE.toFile().deleteOnExit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FuzzTest(maxDuration = "20s")
  void onnx(byte[] input) {
    OnnxGraph g;
    try {
      g = OnnxReader.read(ByteBuffer.wrap(input), "fuzz.onnx");
    } catch (ModelLoadException expected) {
      return;
    }
    for (OnnxTensor t : g.initializers().values()) {
      try {
        if (t.dataType() == OnnxTensor.FLOAT) {
          t.toFloats();
        } else if (t.dataType() == OnnxTensor.INT64 || t.dataType() == OnnxTensor.INT32) {
          t.toLongs();
        }
      } catch (ModelLoadException expected) {
        // a tensor whose data does not match its dims is refused when decoded
      }
    }
  }

  @FuzzTest(maxDuration = "20s")
  void tokenizer(byte[] input) throws IOException {
    Files.write(TOKENIZER_FILE, input);
    HfTokenizer tok;
    try {
      tok = HfTokenizer.fromFile(TOKENIZER_FILE);
    } catch (ModelLoadException expected) {
      return;
    }
    try {
      tok.encode("Hello, world: a fuzzed tokenizer \u00e9\u2603.");
    } catch (ModelLoadException expected) {
      // a tokenizer that passed the load-time probe may still fail on other text, with a clear message
    }
  }

  @FuzzTest(maxDuration = "20s")
  void calibrationState(byte[] input) {
    deserialize(input);
  }

  /** The same with the trailing CRC-32 recomputed, so mutations reach the header and array parsing. */
  @FuzzTest(maxDuration = "20s")
  void calibrationStateWithValidChecksum(byte[] input) {
    if (input.length >= 16) {
      CRC32 crc = new CRC32();
      crc.update(input, 0, input.length - 8);
      ByteBuffer.wrap(input, input.length - 8, 8).putLong(crc.getValue());
    }
    deserialize(input);
  }

  private static void deserialize(byte[] input) {
    CalibrationState s;
    try {
      s = CalibrationState.deserialize(input);
    } catch (IllegalArgumentException expected) {
      return;
    }
    if (s.sizeBytes() != input.length) {
      throw new IllegalStateException("accepted a state of " + s.sizeBytes() + " bytes from " + input.length);
    }
    try {
      s.merge(CalibrationState.deserialize(input)).serialize();
    } catch (ArithmeticException expected) {
      // counters near 2^63 (or sums near 2^127) overflow when merged: refused, never wrapped
    }
  }
}
