package io.thetacal.model.onnx;

import java.util.List;
import java.util.Map;

/** One ONNX graph node: its name, operator, input/output value names and attributes. */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs,
    Map<String, OnnxAttribute> attributes) {
  public OnnxNode {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    attributes = Map.copyOf(attributes);
  }

  public OnnxAttribute attribute(String attrName) {
    return attributes.get(attrName);
  }
}
