package io.thetacal.jobs.ingest;

import io.thetacal.jobs.config.ChunkingSettings;
import io.thetacal.jobs.spark.ExecutorModels;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Executor side of ingest: turns raw documents ({@link RawSchema#RAW}) into sequences or rejections
 * ({@link RawSchema#TOKENIZED}). The tokenizer comes from the per-JVM {@link ExecutorModels} cache, so
 * it is loaded once per executor, not once per task.
 */
public final class TokenizePartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  /** Reasons a document is rejected, as written in the reject_reason column. */
  public static final String EMPTY_TEXT = "empty_text";
  public static final String TEXT_TOO_LONG = "text_too_long";
  public static final String TOKEN_OUT_OF_VOCABULARY = "token_out_of_vocabulary";

  private final String modelId;
  private final int maxLength;
  private final ChunkingSettings.Mode mode;
  private final int minTokens;
  private final int maxTextChars;
  private final long seed;
  private final double holdoutFraction;
  private final Map<String, String> fingerprints;

  public TokenizePartition(String modelId, int maxLength, ChunkingSettings chunking, int maxTextChars,
      long seed, double holdoutFraction, Map<String, String> fingerprints) {
    this.modelId = modelId;
    this.maxLength = maxLength;
    this.mode = chunking.mode();
    this.minTokens = chunking.minTokens();
    this.maxTextChars = maxTextChars;
    this.seed = seed;
    this.holdoutFraction = holdoutFraction;
    this.fingerprints = Map.copyOf(fingerprints);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    ExecutorModels.Tokenizer tok = ExecutorModels.tokenizer(modelId);
    Chunker chunker = new Chunker(tok.tokenizer().encode(""), maxLength, mode, minTokens);
    int vocab = tok.vocabSize();
    return new Iterator<>() {
      private final List<Row> pending = new ArrayList<>();
      private int next;

      @Override
      public boolean hasNext() {
        while (next >= pending.size() && input.hasNext()) {
          pending.clear();
          next = 0;
          process(input.next(), tok, chunker, vocab, pending);
        }
        return next < pending.size();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        return pending.get(next++);
      }
    };
  }

  private void process(Row raw, ExecutorModels.Tokenizer tok, Chunker chunker, int vocab, List<Row> out) {
    String dataset = raw.getString(0);
    String docId = raw.getString(1);
    String text = raw.isNullAt(2) ? null : raw.getString(2);
    List<Long> tokens = raw.isNullAt(3) ? null : raw.getList(3);
    String fingerprint = fingerprints.get(dataset);
    if (!raw.isNullAt(4)) {
      out.add(reject(dataset, docId, fingerprint, raw.getString(4), raw.isNullAt(5) ? null : raw.getString(5)));
      return;
    }
    int[] ids;
    if (tokens != null) {
      if (tokens.isEmpty()) {
        out.add(reject(dataset, docId, fingerprint, EMPTY_TEXT, "no token ids"));
        return;
      }
      ids = new int[tokens.size()];
      for (int i = 0; i < ids.length; i++) {
        Long v = tokens.get(i);
        if (v == null || v < 0 || v >= vocab) {
          out.add(reject(dataset, docId, fingerprint, TOKEN_OUT_OF_VOCABULARY,
              "token id " + v + " at position " + i + " is outside the vocabulary [0, " + vocab + ")"));
          return;
        }
        ids[i] = (int) (long) v;
      }
    } else {
      if (text == null || text.isBlank()) {
        out.add(reject(dataset, docId, fingerprint, EMPTY_TEXT, text == null ? "text is null" : "text is blank"));
        return;
      }
      if (text.length() > maxTextChars) {
        out.add(reject(dataset, docId, fingerprint, TEXT_TOO_LONG, text.length()
            + " characters, more than ingest.max_text_chars = " + maxTextChars));
        return;
      }
      ids = tok.tokenizer().encode(text);
    }
    String split = Splits.of(seed, docId, holdoutFraction);
    List<int[]> seqs = chunker.chunk(ids);
    for (int s = 0; s < seqs.size(); s++) {
      int[] seq = seqs.get(s);
      out.add(RowFactory.create(dataset, docId, s, seq, seq.length, fingerprint, split, null, null));
    }
  }

  private static Row reject(String dataset, String docId, String fingerprint, String reason, String detail) {
    return RowFactory.create(dataset, docId, -1, null, 0, fingerprint, null, reason, detail);
  }
}
