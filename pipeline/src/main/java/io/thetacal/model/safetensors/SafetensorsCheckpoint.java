package io.thetacal.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorInfo;
import io.thetacal.model.TensorSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The tensors of a Hugging Face checkpoint directory: {@code model.safetensors.index.json} with its
 * shards, or every {@code *.safetensors} file of the directory. Names must be unique across shards and
 * every tensor the index maps must be in the shard it names.
 */
public final class SafetensorsCheckpoint implements TensorSource {
  public static final String INDEX = "model.safetensors.index.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<Path> files;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, SafetensorsFile> owner;

  private SafetensorsCheckpoint(List<Path> files, Map<String, TensorInfo> tensors,
      Map<String, SafetensorsFile> owner) {
    this.files = files;
    this.tensors = tensors;
    this.owner = owner;
  }

  /** Opens the shards of a directory (through its index when present). */
  public static SafetensorsCheckpoint open(Path dir) {
    Path index = dir.resolve(INDEX);
    List<Path> shards;
    Map<String, String> weightMap = null;
    if (Files.isRegularFile(index)) {
      weightMap = readIndex(index);
      TreeSet<String> names = new TreeSet<>(weightMap.values());
      shards = new ArrayList<>();
      for (String n : names) {
        Path p = dir.resolve(n).normalize();
        if (!p.getParent().equals(dir.normalize()) || n.contains("/") || n.contains("\\")) {
          throw new ModelLoadException(index + ": shard '" + n + "' must be a file name in " + dir);
        }
        if (!Files.isRegularFile(p)) {
          throw new ModelLoadException(index + ": shard '" + n + "' does not exist in " + dir);
        }
        shards.add(p);
      }
    } else {
      try (Stream<Path> s = Files.list(dir)) {
        shards = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
      } catch (IOException e) {
        throw new ModelLoadException("cannot list " + dir + ": " + e.getMessage(), e);
      }
      if (shards.isEmpty()) {
        throw new ModelLoadException(dir + " has neither " + INDEX + " nor any *.safetensors file");
      }
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
    for (Path p : shards) {
      SafetensorsFile f = SafetensorsFile.open(p);
      for (TensorInfo t : f.tensors().values()) {
        if (tensors.put(t.name(), t) != null) {
          throw new ModelLoadException(p + ": tensor '" + t.name() + "' also appears in "
              + owner.get(t.name()).path());
        }
        owner.put(t.name(), f);
      }
    }
    if (weightMap != null) {
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        SafetensorsFile f = owner.get(e.getKey());
        if (f == null || !f.path().getFileName().toString().equals(e.getValue())) {
          throw new ModelLoadException(index + ": maps tensor '" + e.getKey() + "' to '" + e.getValue()
              + "' but " + (f == null ? "no shard holds it" : "it is in " + f.path().getFileName()));
        }
      }
    }
    return new SafetensorsCheckpoint(List.copyOf(shards), Collections.unmodifiableMap(tensors),
        Collections.unmodifiableMap(owner));
  }

  private static Map<String, String> readIndex(Path index) {
    JsonNode root;
    try {
      root = JSON.readTree(index.toFile());
    } catch (IOException e) {
      throw new ModelLoadException(index + ": cannot parse JSON: " + e.getMessage(), e);
    }
    JsonNode wm = root == null ? null : root.get("weight_map");
    if (wm == null || !wm.isObject()) {
      throw new ModelLoadException(index + ": 'weight_map' must be an object of tensor name to shard file");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new ModelLoadException(index + ": 'weight_map." + e.getKey() + "' must be a file name");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  @Override
  public List<Path> files() {
    return files;
  }

  @Override
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  @Override
  public MappedBytes dataOf(String name) {
    SafetensorsFile f = owner.get(name);
    if (f == null) {
      throw new ModelLoadException(files + ": tensor '" + name + "' is missing");
    }
    return f.dataOf(name);
  }
}
