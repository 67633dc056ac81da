package io.thetacal.jobs.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.thetacal.jobs.config.ChunkingSettings.Mode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkerTest {
  private static final int[] BERT = {101, 102};

  @Test
  void shortDocumentIsOneSequence() {
    int[] ids = {101, 5, 6, 102};
    assertEquals(1, new Chunker(BERT, 8, Mode.SPLIT, 1).chunk(ids).size());
  }

  @Test
  void longDocumentSplitsIntoWindowsEachWrappedInSpecialTokens() {
    int[] ids = {101, 1, 2, 3, 4, 5, 6, 7, 102};
    List<int[]> seqs = new Chunker(BERT, 5, Mode.SPLIT, 1).chunk(ids);
    assertEquals(3, seqs.size());
    assertArrayEquals(new int[] {101, 1, 2, 3, 102}, seqs.get(0));
    assertArrayEquals(new int[] {101, 4, 5, 6, 102}, seqs.get(1));
    assertArrayEquals(new int[] {101, 7, 102}, seqs.get(2));
  }

  @Test
  void shortTrailingWindowIsDropped() {
    int[] ids = {101, 1, 2, 3, 4, 5, 6, 7, 102};
    assertEquals(2, new Chunker(BERT, 5, Mode.SPLIT, 4).chunk(ids).size());
  }

  @Test
  void truncateKeepsTheFirstWindow() {
    int[] ids = {101, 1, 2, 3, 4, 5, 6, 7, 102};
    List<int[]> seqs = new Chunker(BERT, 5, Mode.TRUNCATE, 1).chunk(ids);
    assertEquals(1, seqs.size());
    assertArrayEquals(new int[] {101, 1, 2, 3, 102}, seqs.get(0));
  }

  @Test
  void prefixOnlySpecialTokensAsInDecoders() {
    List<int[]> seqs = new Chunker(new int[] {1}, 3, Mode.SPLIT, 1).chunk(new int[] {1, 7, 8, 9, 10});
    assertArrayEquals(new int[] {1, 7, 8}, seqs.get(0));
    assertArrayEquals(new int[] {1, 9, 10}, seqs.get(1));
  }

  @Test
  void preTokenizedIdsWithoutSpecialTokensAreCutInPlainWindows() {
    List<int[]> seqs = new Chunker(BERT, 3, Mode.SPLIT, 1).chunk(new int[] {7, 8, 9, 10});
    assertArrayEquals(new int[] {7, 8, 9}, seqs.get(0));
    assertArrayEquals(new int[] {10}, seqs.get(1));
  }
}
