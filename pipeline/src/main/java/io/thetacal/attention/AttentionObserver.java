package io.thetacal.attention;

/**
 * Capture callback: receives every attention row of a forward pass, before pruning. Calls to one
 * observer come from a single thread; an observer that {@link #fork forks} lets an engine hand rows to
 * its forks on other threads.
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

  /**
   * A second observer of the same forward pass, for rows an engine computes on another thread, or null
   * (the default) when every row must reach this observer, in order, from one thread. After the pass the
   * engine hands each fork back to {@link #join} on the thread that started the pass. Only an observer
   * whose result does not depend on which rows it saw in which order (mergeable statistics) forks.
   */
  default AttentionObserver fork() {
    return null;
  }

  /** Folds the rows of a fork of this observer into it; the fork is not used again. */
  default void join(AttentionObserver forked) {
    throw new UnsupportedOperationException(getClass().getName() + " does not fork");
  }
}
