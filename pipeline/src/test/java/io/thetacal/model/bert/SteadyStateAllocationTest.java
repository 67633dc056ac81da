package io.thetacal.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.thetacal.ChildJvm;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TextEncoding;
import io.thetacal.model.TransformerModel;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Once compiled, a forward pass allocates little: no Vector API value is left boxed by C2. A boxed vector
 * costs an object and its lane array per operation (the softmax exponentials alone once allocated about
 * 170 MB per encoder pass, in some JVMs and not others). The check runs in a child JVM with C2 only
 * ({@code -XX:-TieredCompilation}), where that boxing showed in every run instead of in some.
 */
class SteadyStateAllocationTest {
  /** The pass keeps its activations between calls; what is left is small per-row scratch (about 2 MB). */
  private static final long MAX_BYTES_PER_PASS = 16L << 20;
  private static final Pattern RESULT = Pattern.compile("BYTES_PER_PASS (\\w+) (\\d+)");

  @Test
  void aCompiledForwardPassAllocatesNoBoxedVectors(@TempDir Path dir) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(ChildJvm.java(), "-Xmx2g", "-XX:-TieredCompilation"));
    cmd.addAll(ChildJvm.moduleFlags());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Passes.class.getName()));
    Path log = dir.resolve("child.log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the child JVM did not finish");
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), out);
    Matcher m = RESULT.matcher(out);
    int found = 0;
    while (m.find()) {
      found++;
      long bytes = Long.parseLong(m.group(2));
      assertTrue(bytes < MAX_BYTES_PER_PASS, "a " + m.group(1) + " pass allocated " + bytes
          + " bytes once compiled (at most " + MAX_BYTES_PER_PASS + " expected):\n" + out);
    }
    assertEquals(2, found, out);
  }

  /** Child JVM: warms up dense passes with and without capture, then prints the bytes allocated per pass. */
  static final class Passes {
    private static final int WARM_UP = 60;
    private static final int MEASURED = 10;

    private Passes() {
    }

    public static void main(String[] args) throws Exception {
      ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
      try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
        String text = String.join(" ", Sentences.REAL);
        List<int[]> batch = new ArrayList<>();
        for (int[] w : TextEncoding.encode(model.tokenizer(), List.of(String.join(" ", text, text, text, text)),
            128, TextEncoding.Overflow.SPLIT).sequences()) {
          if (w.length == 128 && batch.size() < 8) {
            batch.add(w);
          }
        }
        float[] max = {Float.NEGATIVE_INFINITY};
        AttentionObserver capture = (AttentionRow row) -> {
          float[] s = row.scores();
          for (int j = 0; j < row.n(); j++) {
            max[0] = Math.max(max[0], s[row.offset() + j]);
          }
        };
        if (batch.size() < 8) {
          throw new IllegalStateException("only " + batch.size() + " windows of 128 tokens");
        }
        ForwardRequest plain = ForwardRequest.of(batch);
        for (ForwardRequest r : List.of(plain, plain.withObserver(capture))) {
          for (int i = 0; i < WARM_UP; i++) {
            model.forward(r);
          }
          long before = threads.getTotalThreadAllocatedBytes();
          for (int i = 0; i < MEASURED; i++) {
            model.forward(r);
          }
          long perPass = (threads.getTotalThreadAllocatedBytes() - before) / MEASURED;
          System.out.println("BYTES_PER_PASS " + (r.observer().enabled() ? "capture" : "plain") + " " + perPass);
        }
      }
    }
  }
}
