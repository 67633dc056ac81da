package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RetrievalTest {

  @Test
  void ranksEachPairAmongAllCandidates() {
    List<float[]> q = List.of(new float[] {1, 0}, new float[] {0, 1}, new float[] {1, 1});
    List<float[]> c = List.of(new float[] {1, 0.1f}, new float[] {0.1f, 1}, new float[] {-1, 0});
    Retrieval r = Retrieval.evaluate(q, c);
    // query 2 = (1,1): both other candidates (cos 0.77) beat its own (cos −0.71)
    assertArrayEquals(new int[] {1, 1, 3}, r.ranks());
    assertEquals((1 + 1 + 1.0 / 3) / 3, r.meanReciprocalRank(), 1e-15);
    assertEquals(2.0 / 3, r.recallAt1(), 1e-15);
  }

  @Test
  void tiesCountAgainstTheMatch() {
    float[] same = {1, 2};
    Retrieval r = Retrieval.evaluate(List.of(same, same), List.of(same, same));
    assertArrayEquals(new int[] {2, 2}, r.ranks());
    assertEquals(0.0, r.recallAt1());
  }

  @Test
  void rejectsUnpairedInput() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Retrieval.evaluate(List.of(new float[1], new float[1]), List.of(new float[1])));
    assertEquals("retrieval needs one candidate per query but got 2 queries and 1 candidates",
        e.getMessage());
  }
}
