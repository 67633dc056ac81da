/**
 * Artifact formats: thresholds.json, thresholds.arrow and state.bin, their provenance, and atomic
 * publishing of versioned output directories with a completion marker that readers require; the
 * threshold store (current pointer, lock, retention) and incremental, gated refreshes.
 */
package io.thetacal.io;
