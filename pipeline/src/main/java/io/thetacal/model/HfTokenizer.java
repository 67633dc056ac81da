package io.thetacal.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
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

  /** Loads a tokenizer.json file. */
  public static HfTokenizer fromFile(Path tokenizerJson) {
    if (!Files.isRegularFile(tokenizerJson)) {
      throw new ModelLoadException(tokenizerJson + ": tokenizer file not found");
    }
    try {
      HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
          .optTokenizerPath(tokenizerJson)
          .optAddSpecialTokens(true)
          .optTruncation(false)
          .optPadding(false)
          .build();
      return new HfTokenizer(t, tokenizerJson.getFileName().toString());
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException(tokenizerJson + ": not a valid HuggingFace tokenizer.json: "
          + e.getMessage(), e);
    }
  }

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

  @Override
  public int[] encode(String text) {
    Encoding e = tokenizer.encode(text, true, false);
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
