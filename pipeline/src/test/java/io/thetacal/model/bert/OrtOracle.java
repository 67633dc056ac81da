package io.thetacal.model.bert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.thetacal.model.onnx.ProtoWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime on the same ONNX file as the Java engine, optionally with every layer's attention
 * Softmax made a graph output.
 */
public final class OrtOracle implements AutoCloseable {
  public static final String SOFTMAX = "/encoder/layer.%d/attention/self/Softmax_output_0";

  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession session;
  private final String hiddenOutput;
  private final int layers;

  public OrtOracle(byte[] model, int layers, boolean withSoftmax, int threads) throws OrtException {
    this.layers = withSoftmax ? layers : 0;
    byte[] bytes = withSoftmax ? addSoftmaxOutputs(model, layers) : model;
    OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
    opts.setIntraOpNumThreads(threads);
    opts.setInterOpNumThreads(1);
    session = env.createSession(bytes, opts);
    hiddenOutput = session.getOutputNames().iterator().next();
  }

  public static byte[] resource(String name) throws IOException {
    try (InputStream in = OrtOracle.class.getClassLoader().getResourceAsStream(name)) {
      return in.readAllBytes();
    }
  }

  static byte[] addSoftmaxOutputs(byte[] model, int layers) {
    return ProtoWriter.rewrite(model, (field, payload) -> {
      if (field != 7) {
        return null;
      }
      ProtoWriter g = new ProtoWriter().raw(payload);
      for (int l = 0; l < layers; l++) {
        g.bytesField(12, ProtoWriter.floatValueInfo(String.format(SOFTMAX, l)));
      }
      return g.toByteArray();
    });
  }

  /** Outputs of one padded batch. hidden[b][t][h]; probs[layer][b][head][i][j] (null without softmax). */
  public record Output(float[][][] hidden, float[][][][][] probs) {
  }

  public Output run(List<int[]> seqs) throws OrtException {
    int b = seqs.size();
    int maxLen = seqs.stream().mapToInt(s -> s.length).max().orElse(0);
    long[] ids = new long[b * maxLen];
    long[] mask = new long[b * maxLen];
    for (int s = 0; s < b; s++) {
      for (int t = 0; t < seqs.get(s).length; t++) {
        ids[s * maxLen + t] = seqs.get(s)[t];
        mask[s * maxLen + t] = 1;
      }
    }
    long[] shape = {b, maxLen};
    Map<String, OnnxTensor> in = new HashMap<>();
    List<OnnxTensor> all = new ArrayList<>();
    try {
      for (String name : session.getInputNames()) {
        long[] data = switch (name) {
          case "input_ids" -> ids;
          case "attention_mask" -> mask;
          default -> new long[b * maxLen];
        };
        OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape);
        all.add(t);
        in.put(name, t);
      }
      try (OrtSession.Result r = session.run(in)) {
        float[][][] hidden = (float[][][]) r.get(hiddenOutput).get().getValue();
        float[][][][][] probs = null;
        if (layers > 0) {
          probs = new float[layers][][][][];
          for (int l = 0; l < layers; l++) {
            probs[l] = (float[][][][]) r.get(String.format(SOFTMAX, l)).get().getValue();
          }
        }
        return new Output(hidden, probs);
      }
    } finally {
      all.forEach(OnnxTensor::close);
    }
  }

  /** Runs the batch without copying outputs to Java arrays (for timing). */
  public void runDiscard(List<int[]> seqs) throws OrtException {
    int b = seqs.size();
    int maxLen = seqs.stream().mapToInt(s -> s.length).max().orElse(0);
    long[] ids = new long[b * maxLen];
    long[] mask = new long[b * maxLen];
    for (int s = 0; s < b; s++) {
      for (int t = 0; t < seqs.get(s).length; t++) {
        ids[s * maxLen + t] = seqs.get(s)[t];
        mask[s * maxLen + t] = 1;
      }
    }
    long[] shape = {b, maxLen};
    Map<String, OnnxTensor> in = new HashMap<>();
    try {
      for (String name : session.getInputNames()) {
        long[] data = switch (name) {
          case "input_ids" -> ids;
          case "attention_mask" -> mask;
          default -> new long[b * maxLen];
        };
        in.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape));
      }
      session.run(in).close();
    } finally {
      in.values().forEach(OnnxTensor::close);
    }
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
