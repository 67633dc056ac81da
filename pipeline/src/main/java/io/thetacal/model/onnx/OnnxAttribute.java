package io.thetacal.model.onnx;

/**
 * A node attribute. Only the value matching {@code type} is meaningful (ONNX AttributeType: 1 FLOAT,
 * 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS).
 */
public record OnnxAttribute(String name, int type, float f, long i, String s, OnnxTensor tensor,
    float[] floats, long[] ints) {
  public static final int FLOAT = 1;
  public static final int INT = 2;
  public static final int STRING = 3;
  public static final int TENSOR = 4;
  public static final int FLOATS = 6;
  public static final int INTS = 7;
}
