package io.thetacal.report;

/**
 * The outcome of one gate on one cell.
 *
 * @param gate the gate's name ("kept/k" or "quality")
 * @param measured the measured value the gate compares (|mean kept/k − 1|, or the quality loss)
 * @param limit the gate's bound
 * @param reason a human-readable sentence with the numbers
 */
public record GateResult(String gate, boolean pass, double measured, double limit, String reason) {
}
