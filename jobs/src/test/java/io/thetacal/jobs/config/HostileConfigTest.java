package io.thetacal.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.thetacal.jobs.cli.Thetacal;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every key of conf/default.yaml (the YAML tree walked, so a new key is covered when it is added) given
 * a wrong type, an out-of-range value where one exists, and a misspelled name: each is refused with a
 * {@link ConfigException} naming the key's full path and what is allowed, and the CLI prints that message
 * without a stack trace and exits 2.
 */
class HostileConfigTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  /** Out-of-range values by key path, and a fragment of the allowed values the message must give. */
  private static final Map<String, String[]> OUT_OF_RANGE = new TreeMap<>(Map.ofEntries(
      Map.entry("model.id", new String[] {" ", "a non-empty string"}),
      Map.entry("model.batch_size", new String[] {"0", "> 0"}),
      Map.entry("model.max_sequence_length", new String[] {"3", ">= 4"}),
      Map.entry("corpora[0].name", new String[] {"no spaces!", "letters, digits"}),
      Map.entry("corpora[0].source.type", new String[] {"csv", "one of"}),
      Map.entry("corpora[0].source.language", new String[] {"xx", "one of"}),
      Map.entry("corpora[0].source.max_docs", new String[] {"0", "> 0"}),
      Map.entry("corpora[1].source.type", new String[] {"csv", "one of"}),
      Map.entry("corpora[1].source.language", new String[] {"xx", "one of"}),
      Map.entry("corpora[1].source.max_docs", new String[] {"-5", "> 0"}),
      Map.entry("corpora[1].name", new String[] {"-lead", "letters, digits"}),
      Map.entry("corpora[2].name", new String[] {"", "letters, digits"}),
      Map.entry("corpora[2].source.type", new String[] {"xml", "one of"}),
      Map.entry("corpora[2].source.artifact", new String[] {"commons-lang3", "group:artifact:version"}),
      Map.entry("corpora[2].source.max_docs", new String[] {"0", "> 0"}),
      Map.entry("ingest.chunking.mode", new String[] {"chop", "one of [split, truncate]"}),
      Map.entry("ingest.chunking.min_tokens", new String[] {"0", "> 0"}),
      Map.entry("ingest.max_text_chars", new String[] {"0", "> 0"}),
      Map.entry("ingest.holdout_fraction", new String[] {"1.0", "in [0, 1)"}),
      Map.entry("ingest.max_rejected_fraction", new String[] {"-0.1", "in [0, 1]"}),
      Map.entry("calibration.datasets[0]", new String[] {"nowhere", "'corpora'"}),
      Map.entry("calibration.k_grid[0]", new String[] {"-4", "> 0"}),
      Map.entry("calibration.k_grid[1]", new String[] {"0", "> 0"}),
      Map.entry("calibration.k_grid[2]", new String[] {"16", "unique"}),
      Map.entry("calibration.k_grid[3]", new String[] {"-128", "> 0"}),
      Map.entry("calibration.k_grid[4]", new String[] {"32", "unique"}),
      Map.entry("calibration.sigma_add", new String[] {"11", "[0, 10]"}),
      Map.entry("calibration.placements[0]", new String[] {"middle", "one of"}),
      Map.entry("calibration.placements[1]", new String[] {"after", "one of"}),
      Map.entry("calibration.estimator", new String[] {"median", "one of [mean_std, histogram_quantile]"}),
      Map.entry("calibration.max_sequences", new String[] {"-1", ">= 0"}),
      Map.entry("calibration.holdout_sequences", new String[] {"-1", ">= 0"}),
      Map.entry("calibration.max_rejected_fraction", new String[] {"1.5", "in [0, 1]"}),
      Map.entry("calibration.depth_correction_sequences", new String[] {"-1", ">= 0"}),
      Map.entry("spark.partitions", new String[] {"0", "> 0"}),
      Map.entry("spark.progress_interval_seconds", new String[] {"0", "> 0"}),
      Map.entry("output.root", new String[] {"", "a non-empty string"}),
      Map.entry("report.ks[0]", new String[] {"-4", "> 0"}),
      Map.entry("report.ks[1]", new String[] {"16", "unique"}),
      Map.entry("report.compensations[0]", new String[] {"middle", "one of"}),
      Map.entry("report.compensations[1]", new String[] {"none", "unique"}),
      Map.entry("report.compensations[2]", new String[] {"none", "unique"}),
      Map.entry("report.max_sequences", new String[] {"0", "> 0"}),
      Map.entry("report.gates.max_kept_deviation", new String[] {"0", "> 0"}),
      Map.entry("report.gates.max_quality_loss", new String[] {"-1", ">= 0"}),
      Map.entry("refresh.text_column", new String[] {" ", "a non-empty string"}),
      Map.entry("refresh.holdout_sequences", new String[] {"0", "> 0"}),
      Map.entry("refresh.gate_k", new String[] {"-16", "> 0"}),
      Map.entry("refresh.gate_compensation.pre_softmax", new String[] {"middle", "one of"}),
      Map.entry("refresh.gate_compensation.post_softmax", new String[] {"sdc_exact", "none or vmc"}),
      Map.entry("refresh.retention", new String[] {"1", ">= 2"})));

  /** Keys where every value of the right type is allowed (or checked only when the job runs). */
  private static final List<String> NO_RANGE = List.of(
      "ingest.seed", // any 64-bit seed
      "calibration.top_k_at_calibration", // a boolean, or absent: on for decoders
      "report.top_k"); // a boolean

  @TempDir
  Path tmp;

  static JsonNode defaults() throws Exception {
    return YAML.readTree(ConfigLoader.defaultYaml());
  }

  /** Every node of the default tree but the root: path → node. */
  static Map<String, JsonNode> walk() throws Exception {
    Map<String, JsonNode> out = new TreeMap<>();
    walk(defaults(), "", out);
    return out;
  }

  private static void walk(JsonNode n, String path, Map<String, JsonNode> out) {
    if (!path.isEmpty()) {
      out.put(path, n);
    }
    if (n.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext();) {
        Map.Entry<String, JsonNode> e = it.next();
        walk(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(), out);
      }
    } else if (n.isArray()) {
      for (int i = 0; i < n.size(); i++) {
        walk(n.get(i), path + "[" + i + "]", out);
      }
    }
  }

  static Stream<Arguments> wrongTypes() throws Exception {
    List<Arguments> out = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : walk().entrySet()) {
      JsonNode n = e.getValue();
      JsonNode wrong;
      if (n.isObject()) {
        wrong = F.textNode("not-a-mapping");
      } else if (n.isArray()) {
        wrong = F.objectNode().put("not", "a list");
      } else if (n.isNumber()) {
        wrong = F.textNode("many");
      } else if (n.isBoolean()) {
        wrong = F.textNode("sometimes");
      } else {
        wrong = F.arrayNode().add(1).add(2);
      }
      out.add(Arguments.of(e.getKey(), wrong));
    }
    return out.stream();
  }

  static Stream<Arguments> outOfRange() throws Exception {
    List<Arguments> out = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : walk().entrySet()) {
      if (!e.getValue().isValueNode()) {
        continue;
      }
      String[] v = OUT_OF_RANGE.get(e.getKey());
      if (v != null) {
        JsonNode node = e.getValue().isNumber() ? YAML.readTree(v[0]) : F.textNode(v[0]);
        out.add(Arguments.of(e.getKey(), node, v[1]));
      }
    }
    return out.stream();
  }

  static Stream<String> mappingKeys() throws Exception {
    return walk().keySet().stream().filter(k -> !k.endsWith("]"));
  }

  @Test
  void everyScalarKeyOfTheDefaultsIsClassifiedForRange() throws Exception {
    List<String> unclassified = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : walk().entrySet()) {
      if (e.getValue().isValueNode() && !OUT_OF_RANGE.containsKey(e.getKey()) && !NO_RANGE.contains(e.getKey())) {
        unclassified.add(e.getKey());
      }
    }
    assertEquals(List.of(), unclassified, "keys of default.yaml without an out-of-range case");
    assertTrue(walk().size() > 40, "walked " + walk().size() + " nodes");
  }

  @ParameterizedTest(name = "{0} = {1}")
  @MethodSource("wrongTypes")
  void aWrongTypeIsRefusedNamingTheKeyAndTheAllowedType(String path, JsonNode wrong) throws Exception {
    JsonNode tree = replace(path, n -> wrong);
    String msg = refused(tree, path);
    assertTrue(msg.contains("must be") || msg.contains("must set"), msg);
  }

  @ParameterizedTest(name = "{0} = {1}")
  @MethodSource("outOfRange")
  void anOutOfRangeValueIsRefusedNamingTheKeyAndTheAllowedValues(String path, JsonNode value, String allowed)
      throws Exception {
    String msg = refused(replace(path, n -> value), path);
    assertTrue(msg.contains(allowed), "expected '" + allowed + "' in: " + msg);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("mappingKeys")
  void aMisspelledKeyIsRefusedListingTheKnownKeys(String path) throws Exception {
    JsonNode tree = defaults();
    int dot = path.lastIndexOf('.');
    String parentPath = dot < 0 ? "" : path.substring(0, dot);
    String name = path.substring(dot + 1);
    ObjectNode parent = (ObjectNode) (parentPath.isEmpty() ? tree : node(tree, parentPath));
    String typo = name.length() > 3 ? name.substring(0, name.length() - 1) : name + "s";
    JsonNode value = parent.remove(name);
    parent.set(typo, value);
    String typoPath = parentPath.isEmpty() ? typo : parentPath + "." + typo;
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.bind(tree));
    String msg = e.getMessage();
    boolean namesTypo = msg.contains("'" + typoPath + "' is not a known key") && msg.contains(name);
    // a required key may be reported missing first; the typo must then be named as unknown by itself
    boolean namesMissing = msg.contains("'" + path + "' is missing");
    assertTrue(namesTypo || namesMissing, msg);
    // through the CLI the file is merged over the defaults, so the typo itself is what is refused
    assertCliRefuses(tree, typoPath);
  }

  private String refused(JsonNode tree, String path) throws Exception {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.bind(tree),
        () -> path + " was accepted");
    assertTrue(e.getMessage().contains("'" + path + "'") || e.getMessage().contains("'" + path + "."),
        "message does not name '" + path + "': " + e.getMessage());
    assertCliRefuses(tree, path);
    return e.getMessage();
  }

  /** The whole tree as the user's --conf file: the CLI prints the problem on stderr and exits 2. */
  private void assertCliRefuses(JsonNode tree, String path) throws Exception {
    Path conf = Files.createTempFile(tmp, "conf", ".yaml");
    Files.writeString(conf, YAML.writeValueAsString(tree));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Thetacal.run(new String[] {"ingest", "--conf", conf.toString(), "--print-config"},
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    String text = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, text);
    assertTrue(text.startsWith("thetacal ingest: "), text);
    assertTrue(text.contains(path), text);
    assertFalse(text.contains("\tat ") || text.contains("Exception"), "stack trace or exception name: " + text);
    for (String line : text.strip().split("\n")) {
      assertTrue(line.startsWith("thetacal ingest: ") || line.startsWith("  - "), "unexpected line: " + line);
    }
  }

  private static JsonNode replace(String path, Function<JsonNode, JsonNode> f) throws Exception {
    JsonNode tree = defaults();
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    JsonNode parent = cut < 0 ? tree : node(tree, path.substring(0, cut));
    if (cut >= 0 && path.charAt(cut) == '[') {
      int i = Integer.parseInt(path.substring(cut + 1, path.length() - 1));
      ((ArrayNode) parent).set(i, f.apply(parent.get(i)));
    } else {
      String name = path.substring(cut + 1);
      ((ObjectNode) parent).set(name, f.apply(parent.get(name)));
    }
    return tree;
  }

  private static JsonNode node(JsonNode tree, String path) {
    JsonNode n = tree;
    for (String part : path.split("\\.")) {
      int b = part.indexOf('[');
      n = n.get(b < 0 ? part : part.substring(0, b));
      if (b >= 0) {
        n = n.get(Integer.parseInt(part.substring(b + 1, part.length() - 1)));
      }
    }
    return n;
  }
}
