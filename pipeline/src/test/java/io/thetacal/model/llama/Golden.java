package io.thetacal.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.thetacal.io.RawFloats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The tiny-llama golden data produced by llama.cpp (see its README). */
final class Golden {
  static final Path DIR = Path.of(System.getProperty("thetacal.shared.dir", "../../shared"))
      .resolve("golden/tiny-llama");
  static final int VOCAB = 300;
  static final int T = 48;

  private Golden() {
  }

  static Path file(String name) {
    return DIR.resolve(name);
  }

  static float[] floats(String name) {
    try {
      return RawFloats.read(file(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode json(String name) {
    try {
      return new ObjectMapper().readTree(file(name).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  static int[] tokens() {
    return ints(json("tokens.json").get("tokens"));
  }

  static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }
}
