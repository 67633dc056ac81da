package io.thetacal.jobs.calibrate;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.TransformerModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * Executor side of calibration: runs the partition's batches through the model (loaded once per
 * executor JVM by {@link ExecutorModels}), with one {@link CalibrationState} capturing every attention
 * row, and emits the state's bytes. The time spent obtaining the model (a load and warm-up on a fresh
 * executor JVM, nothing once cached) goes to an accumulator, to tell one-time costs from capture. Batches arrive whole and fixed (batch number → (global sequence
 * index, token ids)): a forward pass's floating-point results may depend on what else is in its batch,
 * so batches must not depend on the partitioning for the thresholds to be bitwise reproducible. With
 * top-k at calibration each batch runs once per placement and k of the grid, every layer with the exact
 * top-k of that placement ({@link AttentionMode#topK(int, Placement)}), and each pass updates only that
 * placement's statistics of its k (a pass for a k no sequence of the batch exceeds is skipped: it would
 * record nothing, the row counts come from the first placement's first k's pass). Empty partitions emit nothing.
 */
final class CalibratePartition
    implements FlatMapFunction<Iterator<Tuple2<Long, Iterable<Tuple2<Long, int[]>>>>, byte[]> {
  private static final long serialVersionUID = 1L;
  /** The most token-id bytes one batch may hold (calibrate refuses larger settings before starting). */
  static final long MAX_BATCH_BYTES = 256L << 20;

  /**
   * Upper bound, in bytes, of one batch's token ids in a task: 4 bytes per token of batchSize sequences
   * of at most maxLength tokens, plus the global index (8 bytes) of each sequence. A task holds one batch
   * at a time, one {@link CalibrationState} ({@link CalibrationState#sizeBytesFor}) and the model's
   * forward buffers ({@code BertEncoder.scoreBufferBytesFor}).
   */
  static long batchBytesFor(int batchSize, int maxLength) {
    return Math.multiplyExact((long) batchSize, 4L * maxLength + 8);
  }

  private final String modelId;
  private final CalibrationGeometry geometry;
  private final CalibrationConfig config;
  private final boolean topKAtCalibration;
  private final LongAccumulator sequencesDone;
  private final LongAccumulator tokensDone;
  private final LongAccumulator modelLoadNanos;

  CalibratePartition(String modelId, CalibrationGeometry geometry, CalibrationConfig config,
      boolean topKAtCalibration, LongAccumulator sequencesDone, LongAccumulator tokensDone,
      LongAccumulator modelLoadNanos) {
    this.modelId = modelId;
    this.geometry = geometry;
    this.config = config;
    this.topKAtCalibration = topKAtCalibration;
    this.sequencesDone = sequencesDone;
    this.tokensDone = tokensDone;
    this.modelLoadNanos = modelLoadNanos;
  }

  @Override
  public Iterator<byte[]> call(Iterator<Tuple2<Long, Iterable<Tuple2<Long, int[]>>>> batches) {
    if (!batches.hasNext()) {
      return Collections.emptyIterator();
    }
    long t0 = System.nanoTime();
    TransformerModel model = ExecutorModels.model(modelId);
    modelLoadNanos.add(System.nanoTime() - t0);
    CalibrationState state = new CalibrationState(geometry, config);
    while (batches.hasNext()) {
      List<Tuple2<Long, int[]>> members = new ArrayList<>();
      batches.next()._2().forEach(members::add);
      members.sort(Comparator.comparingLong(Tuple2::_1));
      List<int[]> batch = new ArrayList<>(members.size());
      long tokens = 0;
      int longest = 0;
      for (Tuple2<Long, int[]> m : members) {
        batch.add(m._2());
        tokens += m._2().length;
        longest = Math.max(longest, m._2().length);
      }
      if (topKAtCalibration) {
        // one set of passes per placement: its Top-θ keeps the kept weights as its own top-k does
        for (Placement placement : config.placements()) {
          for (int k : config.kGrid()) {
            if (k >= longest && k != config.kGrid().get(0)) {
              // no row of the batch has n > k: that pass would be dense and record nothing
              continue;
            }
            model.forward(ForwardRequest.attentionOnly(batch, AttentionMode.topK(k, placement),
                state.observerForK(k, placement)));
          }
        }
      } else {
        model.forward(ForwardRequest.attentionOnly(batch, AttentionMode.dense(), state));
      }
      sequencesDone.add(batch.size());
      tokensDone.add(tokens);
    }
    return List.of(state.serialize()).iterator();
  }
}
