package io.thetacal.model.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorInfo;
import io.thetacal.model.TensorSource;
import io.thetacal.model.gguf.GgufFile;
import io.thetacal.model.safetensors.SafetensorsFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;

/**
 * Coverage-guided fuzzing of the GGUF and safetensors parsers: any input must either parse into tensors
 * that decode, or fail with {@link ModelLoadException}; any other exception or an allocation beyond the
 * input's size is a bug. Run with {@code JAZZER_FUZZ=1}; plain test runs replay the kept inputs under
 * {@code src/test/resources/io/thetacal/model/fuzz/CheckpointParserFuzzTestInputs/}.
 */
@Tag("slow")
class CheckpointParserFuzzTest {

  @FuzzTest(maxDuration = "3m")
  void gguf(byte[] input) {
    parseAndDecode(() -> GgufFile.parse(MappedBytes.wrap(Path.of("fuzz.gguf"), ByteBuffer.wrap(input))),
        input.length);
  }

  @FuzzTest(maxDuration = "3m")
  void safetensors(byte[] input) {
    parseAndDecode(() -> SafetensorsFile.parse(
        MappedBytes.wrap(Path.of("fuzz.safetensors"), ByteBuffer.wrap(input))), input.length);
  }

  private static void parseAndDecode(java.util.function.Supplier<TensorSource> parser, int size) {
    TensorSource src;
    try {
      src = parser.get();
    } catch (ModelLoadException expected) {
      return;
    }
    for (TensorInfo t : src.tensors().values()) {
      if (t.offset() + t.byteSize() > size) {
        throw new IllegalStateException("accepted tensor " + t + " extends past the input of " + size + " bytes");
      }
      src.read(t.name());
    }
  }
}
