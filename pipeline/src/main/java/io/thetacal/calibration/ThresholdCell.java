package io.thetacal.calibration;

/**
 * One calibrated cell of a threshold table, as writers emit it.
 *
 * @param layer layer
 * @param head query head
 * @param bucket row-length bucket
 * @param nLo smallest row length of the bucket
 * @param nHi largest row length of the bucket
 * @param representativeN the bucket's representative length
 * @param k target kept elements per row
 * @param theta the threshold
 * @param rows calibration rows with n > k in the cell
 * @param mean mean of t_row(k)
 * @param std sample standard deviation of t_row(k)
 * @param sdcMass mean pruned mass Σ_{j∉S} e^{a_j − m} (pre-softmax; NaN for post-softmax tables)
 */
public record ThresholdCell(
    int layer,
    int head,
    int bucket,
    int nLo,
    int nHi,
    int representativeN,
    int k,
    float theta,
    long rows,
    double mean,
    double std,
    double sdcMass) {
}
