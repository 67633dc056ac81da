package io.thetacal.attention;

/**
 * Capture callback: receives every attention row of a forward pass, before pruning. Calls for one
 * forward pass come from a single thread.
 */
@FunctionalInterface
public interface AttentionObserver {

  /** An observer that ignores everything. */
  AttentionObserver NONE = row -> { };

  void onRow(AttentionRow row);

  /** Whether this observer wants rows at all; the engine skips building row views when it does not. */
  default boolean enabled() {
    return this != NONE;
  }
}
