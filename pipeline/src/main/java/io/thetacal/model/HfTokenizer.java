package io.thetacal.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.thetacal.io.Utf8;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A {@link TextTokenizer} over a HuggingFace {@code tokenizer.json}, through the HF tokenizers native
 * library. Special tokens are added; truncation and padding are off (see {@link TextEncoding}).
 */
public final class HfTokenizer implements TextTokenizer {
  private final HuggingFaceTokenizer tokenizer;
  private final String name;

  private HfTokenizer(HuggingFaceTokenizer tokenizer, String name) {
    this.tokenizer = tokenizer;
    this.name = name;
  }

  /** Text a loaded tokenizer must encode: letters, digits, punctuation and characters outside ASCII. */
  private static final String PROBE = "Probe 1, 2: caf\u00e9 \u2603 \u4e2d\u6587 \ud83d\ude00.";

  /**
   * Loads a tokenizer.json file and checks it encodes a probe text.
   *
   * @throws ModelLoadException when the file is missing, does not parse or cannot encode the probe
   */
  public static HfTokenizer fromFile(Path tokenizerJson) {
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new ModelLoadException(tokenizerJson + ": tokenizer file not found");
    }
    checkJson(tokenizerJson);
    try {
      HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
          .optTokenizerPath(tokenizerJson)
          .optAddSpecialTokens(true)
          .optTruncation(false)
          .optPadding(false)
          .build();
      HfTokenizer tok = new HfTokenizer(t, tokenizerJson.getFileName().toString());
      tok.encode(PROBE);
      return tok;
    } catch (ModelLoadException e) {
      throw new ModelLoadException(tokenizerJson + ": loads but " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException(tokenizerJson + ": not a valid HuggingFace tokenizer.json: "
          + e.getMessage(), e);
    }
  }

  /**
   * Refuses, before the native library sees it, a file that is not one well-formed JSON object or whose
   * template post-processor names a special token it does not define: tokenizers 0.20 panics on both
   * (while parsing the decoder section, and on every encode) instead of returning an error, and a panic
   * across the native boundary aborts the JVM.
   */
  private static void checkJson(Path tokenizerJson) {
    com.fasterxml.jackson.databind.JsonNode root;
    try {
      // JSON text is UTF-8; a JSON parser that decodes an invalid byte in a name leniently would let a
      // template name a special token that the native library then cannot find, so the text is decoded
      // strictly here and the parser reads the decoded text
      String text;
      try {
        text = Utf8.decode(Files.readAllBytes(tokenizerJson));
      } catch (Utf8.InvalidUtf8Exception e) {
        throw new ModelLoadException(tokenizerJson + ": not a valid HuggingFace tokenizer.json: the file is "
            + e.getMessage(), e);
      }
      root = STRICT_JSON.readTree(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
      throw new ModelLoadException(tokenizerJson + ": not a valid HuggingFace tokenizer.json: "
          + e.getOriginalMessage() + (at == null ? "" : " (line " + at.getLineNr() + ", column "
          + at.getColumnNr() + ")"), e);
    } catch (IOException e) {
      throw new ModelLoadException(tokenizerJson + ": cannot read tokenizer: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelLoadException(tokenizerJson + ": not a valid HuggingFace tokenizer.json: the file is"
          + " not a JSON object");
    }
    checkTemplate(tokenizerJson, root.get("post_processor"));
  }

  private static void checkTemplate(Path file, com.fasterxml.jackson.databind.JsonNode pp) {
    if (pp == null || !pp.isObject()) {
      return;
    }
    // The native library picks a processor by its fields, not its "type": an object with template
    // fields is run as a template whatever its type says, so every such object is checked.
    if (pp.path("processors").isArray()) {
      pp.path("processors").forEach(p -> checkTemplate(file, p));
    }
    if (!pp.has("single") && !pp.has("pair")) {
      return;
    }
    com.fasterxml.jackson.databind.JsonNode special = pp.path("special_tokens");
    for (String part : new String[] {"single", "pair"}) {
      for (com.fasterxml.jackson.databind.JsonNode piece : pp.path(part)) {
        com.fasterxml.jackson.databind.JsonNode id = piece.path("SpecialToken").path("id");
        if (id.isTextual() && !special.has(id.asText())) {
          throw new ModelLoadException(file + ": not a valid HuggingFace tokenizer.json: post_processor."
              + part + " uses special token '" + id.asText() + "' which post_processor.special_tokens does"
              + " not define");
        }
      }
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper STRICT_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper()
          .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Loads a tokenizer.json classpath resource (copied to a temporary file for the native library). */
  public static HfTokenizer fromResource(String resource) {
    try (InputStream in = HfTokenizer.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new ModelLoadException("classpath:" + resource + ": tokenizer resource not found");
      }
      Path tmp = Files.createTempFile("thetacal-tokenizer-", ".json");
      try {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        HfTokenizer t = fromFile(tmp);
        return new HfTokenizer(t.tokenizer, resource);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new ModelLoadException("classpath:" + resource + ": cannot read tokenizer: " + e.getMessage(),
          e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * @throws ModelLoadException when the native tokenizer fails on the text (a tokenizer.json that
   *     parses but is unusable, e.g. a WordPiece vocabulary without its unknown token)
   */
  @Override
  public int[] encode(String text) {
    Encoding e;
    try {
      e = tokenizer.encode(text, true, false);
    } catch (RuntimeException failure) {
      throw new ModelLoadException("tokenizer " + name + " cannot encode text: " + failure.getMessage(), failure);
    }
    long[] ids = e.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
