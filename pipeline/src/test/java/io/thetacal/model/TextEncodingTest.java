package io.thetacal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Blank texts are skipped and counted; long texts truncated or split, and counted. */
class TextEncodingTest {
  private static HfTokenizer tok;

  @BeforeAll
  static void load() {
    tok = HfTokenizer.fromResource("all-minilm-l6-v2-tokenizer.json");
  }

  @AfterAll
  static void close() {
    tok.close();
  }

  @Test
  void tokenizerAddsClsAndSep() {
    int[] ids = tok.encode("Hello world");
    assertEquals(101, ids[0]);
    assertEquals(102, ids[ids.length - 1]);
    assertEquals(4, ids.length);
  }

  @Test
  void blankTextsAreSkippedAndCounted() {
    List<String> texts = new ArrayList<>(Arrays.asList("", "  \n\t", "Hello world", null));
    TextEncoding.Result r = TextEncoding.encode(tok, texts, 512, TextEncoding.Overflow.TRUNCATE);
    assertEquals(3, r.skippedBlank());
    assertEquals(1, r.sequences().size());
    assertArrayEquals(new int[] {2}, r.sourceIndex());
  }

  @Test
  void longTextsAreTruncatedKeepingSpecialTokens() {
    String text = String.join(" ", Sentences.REAL);
    int[] full = tok.encode(text);
    TextEncoding.Result r = TextEncoding.encode(tok, List.of(text, "Short one."), 32,
        TextEncoding.Overflow.TRUNCATE);
    assertEquals(1, r.truncated());
    assertEquals(0, r.split());
    assertEquals(2, r.sequences().size());
    int[] first = r.sequences().get(0);
    assertEquals(32, first.length);
    assertEquals(101, first[0]);
    assertEquals(102, first[31]);
    assertArrayEquals(Arrays.copyOfRange(full, 0, 31), Arrays.copyOf(first, 31));
    assertEquals(full.length - 32, r.droppedTokens());
  }

  @Test
  void longTextsAreSplitIntoWindowsCoveringEveryToken() {
    String text = String.join(" ", Sentences.REAL);
    int[] full = tok.encode(text);
    TextEncoding.Result r = TextEncoding.encode(tok, List.of(text), 32, TextEncoding.Overflow.SPLIT);
    assertEquals(1, r.split());
    assertEquals(0, r.truncated());
    int body = full.length - 2;
    assertEquals((body + 29) / 30, r.sequences().size());
    List<Integer> joined = new ArrayList<>();
    for (int[] seq : r.sequences()) {
      assertTrue(seq.length <= 32);
      assertEquals(101, seq[0]);
      assertEquals(102, seq[seq.length - 1]);
      for (int i = 1; i < seq.length - 1; i++) {
        joined.add(seq[i]);
      }
    }
    assertEquals(Arrays.stream(full, 1, full.length - 1).boxed().toList(), joined);
    assertTrue(Arrays.stream(r.sourceIndex()).allMatch(i -> i == 0));
  }

  @Test
  void forwardRejectsSequencesLongerThanThePositions() {
    try (TransformerModel m = Models.load(Models.DEFAULT_ID)) {
      int[] tooLong = new int[m.info().maxPositions() + 1];
      Arrays.fill(tooLong, 1000);
      String msg = assertThrows(IllegalArgumentException.class,
          () -> m.forward(ForwardRequest.of(List.of(tooLong)))).getMessage();
      assertTrue(msg.contains("513 tokens") && msg.contains("at most 512"), msg);
    }
  }
}
