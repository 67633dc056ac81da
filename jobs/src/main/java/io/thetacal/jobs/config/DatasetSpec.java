package io.thetacal.jobs.config;

import java.util.regex.Pattern;

/**
 * One named calibration dataset and where its documents come from.
 *
 * @param name dataset name, used as a Parquet partition value: letters, digits, '-', '_' and '.'
 * @param source the raw source
 */
public record DatasetSpec(String name, SourceSpec source) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  void validate(String key, Problems p) {
    if (!p.missing(key + ".name", name) && !NAME.matcher(name).matches()) {
      p.mustBe(key + ".name", name, "letters, digits, '.', '_' or '-' (starting with a letter or digit)");
    }
    if (!p.missing(key + ".source", source)) {
      source.validate(key + ".source", p);
    }
  }
}
