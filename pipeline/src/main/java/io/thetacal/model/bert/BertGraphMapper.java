package io.thetacal.model.bert;

import io.thetacal.model.ModelLoadException;
import io.thetacal.model.onnx.OnnxGraph;
import io.thetacal.model.onnx.OnnxNode;
import io.thetacal.model.onnx.OnnxTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps the initializers of an exported BERT-family ONNX graph to {@link BertWeights} by the graph's node
 * names (e.g. the MatMul node {@code /encoder/layer.0/attention/self/query/MatMul} names layer 0's
 * query weight). Hyper-parameters come from the graph too: head count and head size from the attention
 * Reshape constants, the score scale from the Div constant, LayerNorm epsilon from its Add constant and
 * the activation from the presence of an Erf node. Nothing is specific to one model.
 */
public final class BertGraphMapper {
  private static final Pattern QUERY =
      Pattern.compile("^(.*)/layer\\.(\\d+)/attention/self/query/MatMul$");

  private final OnnxGraph g;
  private final String src;

  private BertGraphMapper(OnnxGraph g) {
    this.g = g;
    this.src = g.source();
  }

  /** Reads the weights; fails with a {@link ModelLoadException} naming the file and what is missing. */
  public static BertWeights map(OnnxGraph graph) {
    return new BertGraphMapper(graph).map();
  }

  private BertWeights map() {
    String encoderPrefix = null;
    TreeSet<Integer> layerIds = new TreeSet<>();
    for (OnnxNode n : g.nodes()) {
      Matcher m = QUERY.matcher(n.name());
      if (m.matches()) {
        encoderPrefix = m.group(1);
        layerIds.add(Integer.parseInt(m.group(2)));
      }
    }
    if (layerIds.isEmpty()) {
      throw fail("no node named like '/encoder/layer.0/attention/self/query/MatMul': not a BERT-family"
          + " encoder graph");
    }
    int numLayers = layerIds.last() + 1;
    if (layerIds.size() != numLayers) {
      throw fail("layer numbers " + layerIds + " are not contiguous from 0");
    }
    String root = encoderPrefix.endsWith("/encoder")
        ? encoderPrefix.substring(0, encoderPrefix.length() - "/encoder".length()) : "";

    float[] word = gatherTable(root + "/embeddings/word_embeddings/Gather");
    float[] pos = gatherTable(root + "/embeddings/position_embeddings/Gather");
    String typeNode = root + "/embeddings/token_type_embeddings/Gather";
    OnnxTensor wordT = gatherTensor(root + "/embeddings/word_embeddings/Gather");
    int hidden = (int) wordT.dims()[1];
    int vocab = (int) wordT.dims()[0];
    int maxPos = (int) gatherTensor(root + "/embeddings/position_embeddings/Gather").dims()[0];
    checkShape(gatherTensor(root + "/embeddings/position_embeddings/Gather"), maxPos, hidden);
    float[] type0 = new float[hidden];
    if (g.node(typeNode) != null) {
      OnnxTensor tt = gatherTensor(typeNode);
      checkShape(tt, tt.dims()[0], hidden);
      System.arraycopy(tt.toFloats(), 0, type0, 0, hidden);
    }
    BertWeights.Norm embNorm = norm(root + "/embeddings/LayerNorm", hidden);

    String sa0 = encoderPrefix + "/layer.0/attention/self";
    int[] heads = headGeometry(sa0);
    if (heads[0] * heads[1] != hidden) {
      throw fail("attention reshape of '" + sa0 + "' declares " + heads[0] + " heads of size " + heads[1]
          + " but the hidden size is " + hidden);
    }
    float scale = attentionScale(sa0);
    boolean erf = false;
    boolean tanh = false;
    String act0 = encoderPrefix + "/layer.0/intermediate/";
    for (OnnxNode n : g.nodes()) {
      if (n.name().startsWith(act0)) {
        erf |= n.opType().equals("Erf");
        tanh |= n.opType().equals("Tanh");
      }
    }
    if (!erf && !tanh) {
      throw fail("no Erf or Tanh node under '" + act0 + "': unsupported feed-forward activation");
    }

    int inter = -1;
    List<BertWeights.Layer> layers = new ArrayList<>();
    for (int l = 0; l < numLayers; l++) {
      String p = encoderPrefix + "/layer." + l;
      if (l > 0) {
        int[] h = headGeometry(p + "/attention/self");
        if (h[0] != heads[0] || h[1] != heads[1]) {
          throw fail("layer " + l + " declares " + h[0] + " heads of size " + h[1] + " but layer 0 has "
              + heads[0] + " of size " + heads[1]);
        }
      }
      float[] q = linearWeight(p + "/attention/self/query", hidden, hidden);
      float[] k = linearWeight(p + "/attention/self/key", hidden, hidden);
      float[] v = linearWeight(p + "/attention/self/value", hidden, hidden);
      float[] qb = linearBias(p + "/attention/self/query", hidden);
      float[] kb = linearBias(p + "/attention/self/key", hidden);
      float[] vb = linearBias(p + "/attention/self/value", hidden);
      float[] qkv = new float[hidden * 3 * hidden];
      for (int i = 0; i < hidden; i++) {
        System.arraycopy(q, i * hidden, qkv, i * 3 * hidden, hidden);
        System.arraycopy(k, i * hidden, qkv, i * 3 * hidden + hidden, hidden);
        System.arraycopy(v, i * hidden, qkv, i * 3 * hidden + 2 * hidden, hidden);
      }
      float[] qkvb = new float[3 * hidden];
      System.arraycopy(qb, 0, qkvb, 0, hidden);
      System.arraycopy(kb, 0, qkvb, hidden, hidden);
      System.arraycopy(vb, 0, qkvb, 2 * hidden, hidden);
      if (inter < 0) {
        OnnxTensor w = matmulWeight(p + "/intermediate/dense");
        inter = w.rank() == 2 ? (int) w.dims()[1] : -1;
        if (inter <= 0) {
          throw fail("initializer '" + w.name() + "' has shape " + Arrays.toString(w.dims())
              + " but [" + hidden + ", intermediate] was expected");
        }
      }
      layers.add(new BertWeights.Layer(qkv, qkvb,
          linearWeight(p + "/attention/output/dense", hidden, hidden),
          linearBias(p + "/attention/output/dense", hidden),
          norm(p + "/attention/output/LayerNorm", hidden),
          linearWeight(p + "/intermediate/dense", hidden, inter),
          linearBias(p + "/intermediate/dense", inter),
          linearWeight(p + "/output/dense", inter, hidden),
          linearBias(p + "/output/dense", hidden),
          norm(p + "/output/LayerNorm", hidden)));
    }
    return new BertWeights(vocab, maxPos, hidden, inter, heads[0], heads[1], scale, erf, word, pos, type0,
        embNorm, layers);
  }

  private ModelLoadException fail(String problem) {
    return new ModelLoadException(src + ": " + problem);
  }

  private OnnxNode requireNode(String name) {
    OnnxNode n = g.node(name);
    if (n == null) {
      throw fail("graph node '" + name + "' not found");
    }
    return n;
  }

  /** The single initializer input of a node. */
  private OnnxTensor initializerInput(OnnxNode n) {
    OnnxTensor found = null;
    for (String in : n.inputs()) {
      OnnxTensor t = g.initializers().get(in);
      if (t != null) {
        if (found != null) {
          throw fail("node '" + n.name() + "' has two initializer inputs ('" + found.name() + "', '"
              + t.name() + "'); expected one weight");
        }
        found = t;
      }
    }
    if (found == null) {
      throw fail("node '" + n.name() + "' has no initializer input " + n.inputs() + "; expected a weight");
    }
    return found;
  }

  private OnnxTensor gatherTensor(String node) {
    OnnxTensor t = initializerInput(requireNode(node));
    if (t.rank() != 2) {
      throw fail("initializer '" + t.name() + "' has shape " + Arrays.toString(t.dims())
          + " but a 2-d embedding table was expected");
    }
    return t;
  }

  private float[] gatherTable(String node) {
    return gatherTensor(node).toFloats();
  }

  private OnnxTensor matmulWeight(String module) {
    return initializerInput(requireNode(module + "/MatMul"));
  }

  private float[] linearWeight(String module, int in, int out) {
    OnnxTensor w = matmulWeight(module);
    checkShape(w, in, out);
    return w.toFloats();
  }

  private float[] linearBias(String module, int out) {
    OnnxTensor b = initializerInput(requireNode(module + "/Add"));
    checkShape(b, out);
    return b.toFloats();
  }

  private void checkShape(OnnxTensor t, long... expected) {
    if (!Arrays.equals(t.dims(), expected)) {
      throw fail("initializer '" + t.name() + "' has shape " + Arrays.toString(t.dims()) + " but "
          + Arrays.toString(expected) + " was expected");
    }
  }

  private BertWeights.Norm norm(String prefix, int hidden) {
    OnnxNode fused = null;
    for (OnnxNode n : g.nodes()) {
      if (n.opType().equals("LayerNormalization") && n.name().startsWith(prefix + "/")) {
        fused = n;
      }
    }
    if (fused != null) {
      OnnxTensor gamma = g.initializers().get(fused.inputs().get(1));
      OnnxTensor beta = fused.inputs().size() > 2 ? g.initializers().get(fused.inputs().get(2)) : null;
      if (gamma == null || beta == null) {
        throw fail("LayerNormalization node '" + fused.name() + "' lacks scale/bias initializers");
      }
      checkShape(gamma, hidden);
      checkShape(beta, hidden);
      var eps = fused.attribute("epsilon");
      return new BertWeights.Norm(gamma.toFloats(), beta.toFloats(), eps == null ? 1e-5f : eps.f());
    }
    OnnxTensor gamma = initializerInput(requireNode(prefix + "/Mul"));
    OnnxTensor beta = initializerInput(requireNode(prefix + "/Add_1"));
    checkShape(gamma, hidden);
    checkShape(beta, hidden);
    OnnxNode add = requireNode(prefix + "/Add");
    Double eps = null;
    for (String in : add.inputs()) {
      Double c = constant(in);
      if (c != null) {
        eps = c;
      }
    }
    if (eps == null) {
      throw fail("node '" + add.name() + "' has no constant input; expected the LayerNorm epsilon");
    }
    return new BertWeights.Norm(gamma.toFloats(), beta.toFloats(), eps.floatValue());
  }

  /** [numHeads, headDim] from the last two constants of the Concat feeding the query Reshape. */
  private int[] headGeometry(String selfAttn) {
    OnnxNode qAdd = requireNode(selfAttn + "/query/Add");
    String qOut = qAdd.outputs().get(0);
    for (OnnxNode n : g.nodes()) {
      if (n.opType().equals("Reshape") && n.inputs().get(0).equals(qOut)) {
        String shape = n.inputs().get(1);
        OnnxNode concat = g.producer(shape);
        long[] dims;
        if (concat != null && concat.opType().equals("Concat")) {
          List<String> ins = concat.inputs();
          Double h = constant(ins.get(ins.size() - 2));
          Double d = constant(ins.get(ins.size() - 1));
          if (h == null || d == null) {
            throw fail("Concat '" + concat.name() + "' does not end in constant head count and size");
          }
          dims = new long[] {h.longValue(), d.longValue()};
        } else {
          long[] all = constantTensor(shape).toLongs();
          if (all.length != 4) {
            throw fail("Reshape '" + n.name() + "' target " + Arrays.toString(all) + " is not 4-d");
          }
          dims = new long[] {all[2], all[3]};
        }
        if (dims[0] <= 0 || dims[1] <= 0) {
          throw fail("attention Reshape '" + n.name() + "' declares " + dims[0] + " heads of size "
              + dims[1]);
        }
        return new int[] {(int) dims[0], (int) dims[1]};
      }
    }
    throw fail("no Reshape of '" + qOut + "' found: cannot read the head count of '" + selfAttn + "'");
  }

  private float attentionScale(String selfAttn) {
    OnnxNode div = g.node(selfAttn + "/Div");
    if (div != null) {
      Double c = constant(div.inputs().get(1));
      if (c != null && c > 0) {
        return (float) (1.0 / c);
      }
    }
    OnnxNode mul = g.node(selfAttn + "/Mul");
    if (mul != null) {
      for (String in : mul.inputs()) {
        Double c = constant(in);
        if (c != null && c > 0) {
          return c.floatValue();
        }
      }
    }
    throw fail("no Div (or Mul) by a constant under '" + selfAttn + "': cannot read the attention scale");
  }

  private OnnxTensor constantTensor(String value) {
    OnnxTensor init = g.initializers().get(value);
    if (init != null) {
      return init;
    }
    OnnxNode p = g.producer(value);
    if (p != null && p.opType().equals("Constant") && p.attribute("value") != null
        && p.attribute("value").tensor() != null) {
      return p.attribute("value").tensor();
    }
    return null;
  }

  private Double constant(String value) {
    OnnxTensor t = constantTensor(value);
    if (t == null || t.numElements() != 1) {
      return null;
    }
    return t.scalar();
  }
}
