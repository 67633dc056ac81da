package io.thetacal.jobs.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Where a dataset's documents come from. Which fields apply depends on {@link #type()}; setting a field
 * that does not apply to the type is an error, so a misplaced key never goes unnoticed.
 *
 * @param type the kind of source
 * @param path file or directory (text, jsonl, parquet)
 * @param textField JSON field / Parquet column with the document text (jsonl, parquet)
 * @param tokensField JSON field / Parquet column with pre-tokenized ids instead of text (jsonl, parquet)
 * @param idField JSON field / Parquet column with a document id; default: file name and position
 * @param language Europarl language code, e.g. {@code en} (europarl)
 * @param artifact Maven coordinates {@code group:artifact:version} of a sources jar (java_sources)
 * @param maxDocs keep at most this many documents, in source order (europarl, java_sources)
 */
public record SourceSpec(
    SourceType type,
    String path,
    String textField,
    String tokensField,
    String idField,
    String language,
    String artifact,
    Integer maxDocs) {

  void validate(String key, Problems p) {
    if (p.missing(key + ".type", type)) {
      return;
    }
    List<String> allowed = new ArrayList<>();
    switch (type) {
      case TEXT -> {
        allowed.add("path");
        p.notBlank(key + ".path", path);
      }
      case JSONL, PARQUET -> {
        allowed.addAll(List.of("path", "text_field", "tokens_field", "id_field"));
        p.notBlank(key + ".path", path);
        if ((textField == null) == (tokensField == null)) {
          p.add("'" + key + "' must set exactly one of 'text_field' or 'tokens_field' for type "
              + name(type));
        }
      }
      case EUROPARL -> {
        allowed.addAll(List.of("language", "max_docs"));
        if (!p.missing(key + ".language", language)
            && !EuroparlLanguageCodes.CODES.contains(language)) {
          p.mustBe(key + ".language", language, "one of " + EuroparlLanguageCodes.CODES);
        }
      }
      case JAVA_SOURCES -> {
        allowed.addAll(List.of("artifact", "max_docs"));
        if (!p.missing(key + ".artifact", artifact) && artifact.split(":").length != 3) {
          p.mustBe(key + ".artifact", artifact, "Maven coordinates 'group:artifact:version'");
        }
      }
      default -> throw new IllegalStateException(type.toString());
    }
    if (maxDocs != null && maxDocs <= 0) {
      p.mustBe(key + ".max_docs", maxDocs, "> 0");
    }
    checkNotSet(key, "path", path, allowed, p);
    checkNotSet(key, "text_field", textField, allowed, p);
    checkNotSet(key, "tokens_field", tokensField, allowed, p);
    checkNotSet(key, "id_field", idField, allowed, p);
    checkNotSet(key, "language", language, allowed, p);
    checkNotSet(key, "artifact", artifact, allowed, p);
    checkNotSet(key, "max_docs", maxDocs, allowed, p);
  }

  private void checkNotSet(String key, String field, Object value, List<String> allowed, Problems p) {
    if (value != null && !allowed.contains(field)) {
      p.add("'" + key + "." + field + "' does not apply to source type '" + name(type)
          + "'; that type takes: type, " + String.join(", ", allowed));
    }
  }

  static String name(SourceType t) {
    return t.name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The Europarl language codes, kept here so config validation needs no Spark classes. */
  static final class EuroparlLanguageCodes {
    static final Set<String> CODES =
        new java.util.TreeSet<>(List.of("da", "de", "el", "en", "es", "fi", "fr", "it", "nl", "pt", "sv"));

    private EuroparlLanguageCodes() {
    }
  }
}
