package io.thetacal.jobs.ingest;

/** Ingest stopped: a dataset rejected more documents than allowed, or a source cannot be read. */
public class IngestException extends RuntimeException {
  public IngestException(String message) {
    super(message);
  }
}
