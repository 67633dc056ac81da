package io.thetacal.jobs.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads a {@link ThetacalConfig}: the embedded {@code default.yaml}, deep-merged with an optional user
 * file (objects merge key by key, lists and scalars replace), then {@code --set key=value} overrides
 * typed by the config records, then validation. Unknown keys, wrong types and out-of-range values are
 * reported with the key's full path and what is allowed.
 */
public final class ConfigLoader {
  /** Classpath location of the embedded defaults (a copy of conf/default.yaml). */
  public static final String DEFAULT_RESOURCE = "/io/thetacal/jobs/config/default.yaml";

  private static final ObjectMapper YAML = configure(new ObjectMapper(new YAMLFactory()));
  private static final ObjectMapper JSON = configure(JsonMapper.builder().build());

  private ConfigLoader() {
  }

  private static ObjectMapper configure(ObjectMapper m) {
    return m.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .configure(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS, true)
        .configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, false);
  }

  /** A mapper with the config's naming (snake_case), for writing the config into manifests. */
  public static ObjectMapper json() {
    return JSON;
  }

  /** The embedded defaults with overrides applied. */
  public static ThetacalConfig load(List<String> overrides) {
    return load(null, overrides);
  }

  /** The embedded defaults, merged with {@code file} when not null, then overrides. */
  public static ThetacalConfig load(Path file, List<String> overrides) {
    String user = null;
    if (file != null) {
      if (!Files.isRegularFile(file)) {
        throw new ConfigException("Config file " + file + " does not exist or is not a file");
      }
      try {
        user = Files.readString(file, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read config file " + file, e);
      }
    }
    return fromYaml(user, file == null ? "<none>" : file.toString(), overrides);
  }

  /** Defaults merged with the given YAML text ({@code null} for none), then overrides. */
  public static ThetacalConfig fromYaml(String userYaml, String origin, List<String> overrides) {
    ObjectNode tree = (ObjectNode) parse(defaultYaml(), DEFAULT_RESOURCE);
    if (userYaml != null && !userYaml.isBlank()) {
      JsonNode user = parse(userYaml, origin);
      if (!user.isObject()) {
        throw new ConfigException("Config " + origin + " must be a YAML mapping at the top level, not "
            + user.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      merge(tree, (ObjectNode) user);
    }
    for (String o : overrides) {
      applyOverride(tree, o);
    }
    return bind(tree);
  }

  /** The embedded default YAML text. */
  public static String defaultYaml() {
    try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("Missing resource " + DEFAULT_RESOURCE + " (build the jobs jar)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode parse(String yaml, String origin) {
    try {
      JsonNode n = YAML.readTree(yaml);
      return n == null ? JsonNodeFactory.instance.objectNode() : n;
    } catch (JsonProcessingException e) {
      throw new ConfigException("Config " + origin + " is not valid YAML: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
              + e.getLocation().getColumnNr() + ")"));
    }
  }

  private static void merge(ObjectNode base, ObjectNode over) {
    Iterator<Map.Entry<String, JsonNode>> it = over.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode existing = base.get(e.getKey());
      if (existing instanceof ObjectNode b && e.getValue() instanceof ObjectNode o) {
        merge(b, o);
      } else {
        base.set(e.getKey(), e.getValue());
      }
    }
  }

  /** Binds and validates a tree; public for tests and for re-reading a config stored in a manifest. */
  public static ThetacalConfig bind(JsonNode tree) {
    ThetacalConfig config;
    try {
      config = JSON.treeToValue(tree, ThetacalConfig.class);
    } catch (UnrecognizedPropertyException e) {
      String at = path(e);
      String parent = at.contains(".") ? at.substring(0, at.lastIndexOf('.')) : "";
      List<String> known = e.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
      throw new ConfigException("'" + at + "' is not a known key; known keys"
          + (parent.isEmpty() ? "" : " under '" + parent + "'") + ": " + String.join(", ", known));
    } catch (InvalidFormatException e) {
      throw new ConfigException("'" + path(e) + "' is set to " + Problems.render(e.getValue())
          + " but must be " + describe(e.getTargetType()));
    } catch (MismatchedInputException e) {
      JsonNode found = at(tree, e);
      throw new ConfigException("'" + path(e) + "' "
          + (found == null || found.isMissingNode() ? "is missing"
              : "is set to " + (found.isTextual() ? "'" + found.asText() + "'" : found.toString()))
          + " but must be " + describe(e.getTargetType()));
    } catch (JsonMappingException e) {
      throw new ConfigException("'" + path(e) + "' is invalid: " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw new ConfigException("Invalid configuration: " + e.getOriginalMessage());
    }
    Problems p = new Problems();
    config.validate(p);
    p.throwIfAny();
    return config;
  }

  private static JsonNode at(JsonNode tree, JsonMappingException e) {
    JsonNode n = tree;
    for (JsonMappingException.Reference r : e.getPath()) {
      if (n == null) {
        return null;
      }
      n = r.getFieldName() != null ? n.get(r.getFieldName()) : n.get(r.getIndex());
    }
    return n;
  }

  static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.toString();
  }

  static String describe(Class<?> t) {
    if (t == null) {
      return "of another type";
    }
    if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
      return "an integer";
    }
    if (t == double.class || t == Double.class || t == float.class || t == Float.class) {
      return "a number";
    }
    if (t == boolean.class || t == Boolean.class) {
      return "true or false";
    }
    if (t == String.class) {
      return "a string";
    }
    if (t.isEnum()) {
      return "one of " + enumValues(t);
    }
    if (List.class.isAssignableFrom(t)) {
      return "a list";
    }
    if (t.isRecord()) {
      return "a mapping with keys " + keys(t);
    }
    return "a " + t.getSimpleName();
  }

  private static List<String> enumValues(Class<?> t) {
    return Arrays.stream(t.getEnumConstants()).map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT))
        .toList();
  }

  private static List<String> keys(Class<?> record) {
    return Arrays.stream(record.getRecordComponents()).map(ConfigLoader::key).toList();
  }

  /** The YAML key of a record component: its @JsonProperty name, else its name in snake_case. */
  static String key(RecordComponent c) {
    com.fasterxml.jackson.annotation.JsonProperty p =
        c.getAccessor().getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
    return p != null && !p.value().isEmpty() ? p.value() : snake(c.getName());
  }

  static String snake(String camel) {
    return PropertyNamingStrategies.SnakeCaseStrategy.INSTANCE.translate(camel);
  }

  // ---- --set key=value -------------------------------------------------------------------------

  private record Segment(String name, int index) {
  }

  static void applyOverride(ObjectNode root, String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException("--set expects key=value (e.g. calibration.sigma_add=0.2), got '"
          + override + "'");
    }
    String key = override.substring(0, eq).trim();
    String value = override.substring(eq + 1);
    List<Segment> segments = segments(key);
    Type type = ThetacalConfig.class;
    JsonNode node = root;
    StringBuilder at = new StringBuilder();
    for (int i = 0; i < segments.size(); i++) {
      Segment s = segments.get(i);
      Class<?> raw = raw(type);
      if (!raw.isRecord()) {
        throw new ConfigException("--set " + key + ": '" + at + "' is " + describe(raw)
            + " and has no key '" + s.name() + "'");
      }
      RecordComponent c = Arrays.stream(raw.getRecordComponents())
          .filter(rc -> key(rc).equals(s.name())).findFirst()
          .orElseThrow(() -> new ConfigException("--set " + key + ": '" + join(at, s.name())
              + "' is not a known key; known keys" + (at.length() == 0 ? "" : " under '" + at + "'")
              + ": " + String.join(", ", keys(raw).stream().sorted().toList())));
      if (at.length() > 0) {
        at.append('.');
      }
      at.append(s.name());
      type = c.getGenericType();
      boolean last = i == segments.size() - 1;
      ObjectNode parent = (ObjectNode) node;
      if (s.index() >= 0) {
        if (!List.class.isAssignableFrom(raw(type))) {
          throw new ConfigException("--set " + key + ": '" + at + "' is not a list");
        }
        JsonNode list = parent.get(s.name());
        if (!(list instanceof ArrayNode arr) || s.index() >= arr.size()) {
          throw new ConfigException("--set " + key + ": '" + at + "' has no element [" + s.index()
              + "] (it has " + (list instanceof ArrayNode a ? a.size() : 0) + ")");
        }
        at.append('[').append(s.index()).append(']');
        type = elementType(type);
        if (last) {
          arr.set(s.index(), convert(value, type, at.toString()));
          return;
        }
        node = arr.get(s.index());
        if (!node.isObject()) {
          throw new ConfigException("--set " + key + ": '" + at + "' is not a mapping");
        }
      } else {
        if (last) {
          parent.set(s.name(), convert(value, type, at.toString()));
          return;
        }
        JsonNode child = parent.get(s.name());
        if (child == null || child.isNull()) {
          child = parent.putObject(s.name());
        }
        if (!child.isObject()) {
          throw new ConfigException("--set " + key + ": '" + at + "' is not a mapping");
        }
        node = child;
      }
    }
  }

  private static String join(CharSequence parent, String name) {
    return parent.length() == 0 ? name : parent + "." + name;
  }

  private static List<Segment> segments(String key) {
    List<Segment> out = new ArrayList<>();
    for (String part : key.split("\\.", -1)) {
      String name = part;
      int index = -1;
      int b = part.indexOf('[');
      if (b >= 0) {
        if (!part.endsWith("]")) {
          throw new ConfigException("--set " + key + ": malformed index in '" + part + "'");
        }
        name = part.substring(0, b);
        try {
          index = Integer.parseInt(part.substring(b + 1, part.length() - 1));
        } catch (NumberFormatException e) {
          throw new ConfigException("--set " + key + ": malformed index in '" + part + "'");
        }
      }
      if (name.isEmpty()) {
        throw new ConfigException("--set " + key + ": empty key segment");
      }
      out.add(new Segment(name, index));
    }
    return out;
  }

  private static Class<?> raw(Type t) {
    if (t instanceof Class<?> c) {
      return c;
    }
    if (t instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    throw new IllegalStateException("Unsupported config type " + t);
  }

  private static Type elementType(Type listType) {
    return ((ParameterizedType) listType).getActualTypeArguments()[0];
  }

  /** A --set value converted to the JSON node the record component expects. */
  private static JsonNode convert(String value, Type type, String key) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    Class<?> raw = raw(type);
    String v = value.trim();
    if (v.equals("null")) {
      return f.nullNode();
    }
    if (List.class.isAssignableFrom(raw)) {
      Type element = elementType(type);
      if (raw(element).isRecord()) {
        return parse(v, "--set " + key);
      }
      String body = v.startsWith("[") && v.endsWith("]") ? v.substring(1, v.length() - 1) : v;
      ArrayNode arr = f.arrayNode();
      if (!body.isBlank()) {
        String[] parts = body.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
          arr.add(convert(parts[i], element, key + "[" + i + "]"));
        }
      }
      return arr;
    }
    if (raw.isRecord()) {
      return parse(v, "--set " + key);
    }
    try {
      if (raw == int.class || raw == Integer.class) {
        return f.numberNode(Integer.parseInt(v));
      }
      if (raw == long.class || raw == Long.class) {
        return f.numberNode(Long.parseLong(v));
      }
      if (raw == double.class || raw == Double.class) {
        return f.numberNode(Double.parseDouble(v));
      }
    } catch (NumberFormatException e) {
      throw new ConfigException("'" + key + "' is set to '" + v + "' but must be " + describe(raw));
    }
    if (raw == boolean.class || raw == Boolean.class) {
      if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
        throw new ConfigException("'" + key + "' is set to '" + v + "' but must be true or false");
      }
      return f.booleanNode(Boolean.parseBoolean(v.toLowerCase(Locale.ROOT)));
    }
    if (raw.isEnum()) {
      boolean known = enumValues(raw).contains(v.toLowerCase(Locale.ROOT));
      if (!known) {
        throw new ConfigException("'" + key + "' is set to '" + v + "' but must be one of "
            + enumValues(raw));
      }
      return f.textNode(v);
    }
    return f.textNode(v);
  }

  /** The config as YAML text (snake_case keys), for printing the effective configuration. */
  public static String toYaml(ThetacalConfig config) {
    try {
      return YAML.writeValueAsString(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Names of the keys a record accepts, for error messages. */
  static String knownKeys(Class<?> record) {
    return keys(record).stream().sorted().collect(Collectors.joining(", "));
  }
}
