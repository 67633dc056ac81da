package io.thetacal.attention;

/** Where the Top-θ compare is applied: to scaled scores before softmax, or to probabilities after it. */
public enum Placement {
  PRE_SOFTMAX,
  POST_SOFTMAX
}
