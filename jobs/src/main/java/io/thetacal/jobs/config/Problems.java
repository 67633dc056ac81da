package io.thetacal.jobs.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/** Collects validation problems in the project's one message template: "'key' is set to X but must be ...". */
final class Problems {
  private final List<String> list = new ArrayList<>();

  void add(String message) {
    list.add(message);
  }

  void mustBe(String key, Object value, String requirement) {
    list.add("'" + key + "' is set to " + render(value) + " but must be " + requirement);
  }

  boolean missing(String key, Object value) {
    if (value == null) {
      list.add("'" + key + "' is missing");
      return true;
    }
    return false;
  }

  void positive(String key, long value) {
    if (value <= 0) {
      mustBe(key, value, "> 0");
    }
  }

  void atLeast(String key, long value, long min) {
    if (value < min) {
      mustBe(key, value, ">= " + min);
    }
  }

  void fraction(String key, double value, boolean allowOne) {
    if (!(value >= 0) || (allowOne ? value > 1 : value >= 1)) {
      mustBe(key, value, allowOne ? "in [0, 1]" : "in [0, 1)");
    }
  }

  void notBlank(String key, String value) {
    if (!missing(key, value) && value.isBlank()) {
      mustBe(key, value, "a non-empty string");
    }
  }

  void throwIfAny() {
    if (!list.isEmpty()) {
      throw new ConfigException(list);
    }
  }

  static String render(Object value) {
    if (value instanceof String s) {
      return "'" + s + "'";
    }
    if (value instanceof Collection<?> c) {
      return c.stream().map(Problems::render).collect(Collectors.joining(", ", "[", "]"));
    }
    return String.valueOf(value);
  }
}
