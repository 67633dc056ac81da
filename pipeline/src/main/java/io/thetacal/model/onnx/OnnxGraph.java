package io.thetacal.model.onnx;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX ModelProto a weight loader needs: nodes in graph order, initializers by name,
 * graph input and output names, and the default-domain opset.
 *
 * @param source the file (or resource) it was read from, for error messages
 */
public record OnnxGraph(String source, long irVersion, long opsetVersion, List<OnnxNode> nodes,
    Map<String, OnnxTensor> initializers, List<String> inputs, List<String> outputs) {
  public OnnxGraph {
    nodes = List.copyOf(nodes);
    initializers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(initializers));
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** The node with this name, or null. */
  public OnnxNode node(String name) {
    for (OnnxNode n : nodes) {
      if (n.name().equals(name)) {
        return n;
      }
    }
    return null;
  }

  /** The node that produces this value, or null (graph inputs and initializers have none). */
  public OnnxNode producer(String value) {
    for (OnnxNode n : nodes) {
      if (n.outputs().contains(value)) {
        return n;
      }
    }
    return null;
  }
}
