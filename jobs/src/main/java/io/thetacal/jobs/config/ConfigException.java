package io.thetacal.jobs.config;

import java.util.List;

/**
 * A job configuration is invalid. The message names every offending key by its full path (for example
 * {@code calibration.k_grid[2]}) and what is allowed there, so the CLI prints it without a stack trace.
 */
public class ConfigException extends RuntimeException {
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(problems.size() == 1
        ? problems.get(0)
        : "Invalid configuration:\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  public ConfigException(String problem) {
    this(List.of(problem));
  }

  /** Each problem found, one sentence each. */
  public List<String> problems() {
    return problems;
  }
}
