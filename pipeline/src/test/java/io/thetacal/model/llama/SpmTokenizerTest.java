package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.thetacal.model.TextTokenizer;
import org.junit.jupiter.api.Test;

class SpmTokenizerTest {
  private final TextTokenizer tok = LlamaModels.load(Golden.file("tiny-llama-f32.gguf")).tokenizer();

  @Test
  void mergesBestScoringPairsFirst() {
    // ▁ t h e: "▁t" (score -27) merges before "he" (-29), then "▁t"+"he" = "▁the" (294)
    assertArrayEquals(new int[] {1, 294}, tok.encode("the"));
    // ▁ c a t: only "at" (296) is in the vocabulary
    assertArrayEquals(new int[] {1, 259, 262, 296}, tok.encode("cat"));
    // the space becomes ▁: "▁the" (294), "▁w" (299), "in" (289); "▁win" is not in the vocabulary
    assertArrayEquals(new int[] {1, 294, 299, 289}, tok.encode("the win"));
  }

  @Test
  void unknownCharactersFallBackToByteTokens() {
    // é = C3 A9 → <0xC3> = 0xC3 + 3, <0xA9> = 0xA9 + 3
    assertArrayEquals(new int[] {1, 259, 0xC3 + 3, 0xA9 + 3}, tok.encode("é"));
    assertArrayEquals(new int[] {1, 259, '\n' + 3}, tok.encode("\n"));
  }

  @Test
  void piecesComeFromTheGgufVocabulary() {
    SpmTokenizer spm = (SpmTokenizer) tok;
    assertEquals("<s>", spm.piece(1));
    assertEquals("\u2581the", spm.piece(294));
    assertEquals("<0x0A>", spm.piece(13));
  }
}
