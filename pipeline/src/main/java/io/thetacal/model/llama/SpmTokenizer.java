package io.thetacal.model.llama;

import io.thetacal.model.TextTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE as llama.cpp runs it from GGUF metadata ({@code tokenizer.ggml.model = "llama"}):
 * spaces become U+2581, a leading U+2581 is added, the text is split into UTF-8 characters and adjacent
 * symbols are merged, best-scoring vocabulary entry first (leftmost on ties); symbols that are not in the
 * vocabulary fall back to their {@code <0xXX>} byte tokens.
 */
public final class SpmTokenizer implements TextTokenizer {
  private static final int TYPE_BYTE = 6;

  private final String name;
  private final String[] tokens;
  private final float[] scores;
  private final Map<String, Integer> ids;
  private final int[] byteIds = new int[256];
  private final int unknownId;
  private final int bosId;
  private final boolean addBos;
  private final boolean addSpacePrefix;

  public SpmTokenizer(String name, String[] tokens, float[] scores, long[] types, int unknownId, int bosId,
      boolean addBos, boolean addSpacePrefix) {
    if (scores.length != tokens.length || (types != null && types.length != tokens.length)) {
      throw new IllegalArgumentException(name + ": " + tokens.length + " tokens but " + scores.length
          + " scores and " + (types == null ? 0 : types.length) + " token types");
    }
    this.name = name;
    this.tokens = tokens;
    this.scores = scores;
    this.unknownId = unknownId;
    this.bosId = bosId;
    this.addBos = addBos;
    this.addSpacePrefix = addSpacePrefix;
    ids = new HashMap<>(tokens.length * 2);
    java.util.Arrays.fill(byteIds, -1);
    for (int i = 0; i < tokens.length; i++) {
      ids.putIfAbsent(tokens[i], i);
      String t = tokens[i];
      if ((types == null || types[i] == TYPE_BYTE) && t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
        try {
          byteIds[Integer.parseInt(t.substring(3, 5), 16)] = i;
        } catch (NumberFormatException ignored) {
          // not a byte token
        }
      }
    }
  }

  @Override
  public String name() {
    return name;
  }

  /** The vocabulary piece of an id. */
  public String piece(int id) {
    return tokens[id];
  }

  @Override
  public int[] encode(String text) {
    String s = text.replace(' ', '\u2581');
    if (addSpacePrefix && !text.isEmpty()) {
      s = '\u2581' + s;
    }
    int cps = s.codePointCount(0, s.length());
    String[] sym = new String[cps];
    int[] prev = new int[cps];
    int[] next = new int[cps];
    int k = 0;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      int len = Character.charCount(cp);
      sym[k] = s.substring(i, i + len);
      prev[k] = k - 1;
      next[k] = k + 1 < cps ? k + 1 : -1;
      k++;
      i += len;
    }
    record Bigram(int left, int right, float score, String text) {
    }
    PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
        ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
    java.util.function.BiConsumer<Integer, Integer> tryAdd = (l, r) -> {
      if (l < 0 || r < 0) {
        return;
      }
      String m = sym[l] + sym[r];
      Integer id = ids.get(m);
      if (id != null) {
        queue.add(new Bigram(l, r, scores[id], m));
      }
    };
    for (int i = 0; i + 1 < cps; i++) {
      tryAdd.accept(i, i + 1);
    }
    while (!queue.isEmpty()) {
      Bigram b = queue.poll();
      if (sym[b.left] == null || sym[b.right] == null || next[b.left] != b.right
          || !(sym[b.left] + sym[b.right]).equals(b.text)) {
        continue;
      }
      sym[b.left] = b.text;
      sym[b.right] = null;
      next[b.left] = next[b.right];
      if (next[b.right] >= 0) {
        prev[next[b.right]] = b.left;
      }
      tryAdd.accept(prev[b.left], b.left);
      tryAdd.accept(b.left, next[b.left]);
    }
    int[] out = new int[s.length() * 4 + 1];
    int n = 0;
    if (addBos) {
      out[n++] = bosId;
    }
    for (int i = cps == 0 ? -1 : 0; i >= 0; i = next[i]) {
      Integer id = ids.get(sym[i]);
      if (id != null) {
        out[n++] = id;
      } else {
        for (byte bt : sym[i].getBytes(StandardCharsets.UTF_8)) {
          int bid = byteIds[bt & 0xff];
          out[n++] = bid >= 0 ? bid : unknownId;
        }
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }
}
