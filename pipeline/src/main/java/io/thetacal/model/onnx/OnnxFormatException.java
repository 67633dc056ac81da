package io.thetacal.model.onnx;

import io.thetacal.model.ModelLoadException;

/** The bytes of a file are not a well-formed ONNX ModelProto; the message names the file and the spot. */
public final class OnnxFormatException extends ModelLoadException {
  public OnnxFormatException(String message) {
    super(message);
  }
}
