package io.thetacal.calibration;

/**
 * The score histogram of one (layer, head, n-bucket), as writers emit it (histograms.parquet).
 *
 * @param layer layer
 * @param head query head
 * @param bucket row-length bucket
 * @param nLo smallest row length of the bucket
 * @param nHi largest row length of the bucket
 * @param rows rows counted
 * @param histogram the counts with their edges
 */
public record HistogramCell(int layer, int head, int bucket, int nLo, int nHi, long rows,
    ScoreHistogram histogram) {
}
