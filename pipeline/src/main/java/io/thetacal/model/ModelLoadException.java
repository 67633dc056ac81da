package io.thetacal.model;

/** A model file is missing, truncated or not what it claims to be; the message names file and problem. */
public class ModelLoadException extends RuntimeException {
  public ModelLoadException(String message) {
    super(message);
  }

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
