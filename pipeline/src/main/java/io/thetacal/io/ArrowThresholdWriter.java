package io.thetacal.io;

import io.thetacal.calibration.ThresholdCell;
import io.thetacal.calibration.ThresholdTable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * thresholds.arrow: the calibrated cells of a threshold table as an Arrow IPC file, for inference
 * runtimes. One row per calibrated (layer, head, row-length bucket, k) with columns layer, head, n_lo,
 * n_hi (inclusive bucket bounds), k, theta (float32), rows (int64), mean, std, sdc_mass (float64). The
 * schema metadata records the format, placement and estimator plus whatever the caller adds.
 */
public final class ArrowThresholdWriter {
  public static final String FILE_NAME = "thresholds.arrow";
  public static final String FORMAT = "thetacal-thresholds/1";
  static final int BATCH_ROWS = 65_536;

  private ArrowThresholdWriter() {
  }

  /** The schema of thresholds.arrow, with the given metadata. */
  public static Schema schema(Map<String, String> metadata) {
    ArrowType i32 = new ArrowType.Int(32, true);
    ArrowType i64 = new ArrowType.Int(64, true);
    ArrowType f32 = new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
    ArrowType f64 = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
    List<Field> fields = List.of(
        field("layer", i32, false), field("head", i32, false), field("n_lo", i32, false),
        field("n_hi", i32, false), field("k", i32, false), field("theta", f32, false),
        field("rows", i64, false), field("mean", f64, false), field("std", f64, false),
        field("sdc_mass", f64, true));
    return new Schema(fields, metadata);
  }

  private static Field field(String name, ArrowType type, boolean nullable) {
    return new Field(name, new FieldType(nullable, type, null), null);
  }

  /**
   * Writes the table's calibrated cells to {@code file} (replaced if present).
   *
   * @param metadata extra schema metadata, e.g. model id and hash
   */
  public static void write(ThresholdTable table, Path file, Map<String, String> metadata)
      throws IOException {
    Map<String, String> meta = new TreeMap<>(metadata);
    meta.put("format", FORMAT);
    meta.put("placement", table.placement().name());
    meta.put("estimator", table.estimator().name());
    meta.put("estimator_parameters", table.estimatorParameters());
    List<ThresholdCell> cells = table.cells();
    try (BufferAllocator allocator = new RootAllocator();
        VectorSchemaRoot root = VectorSchemaRoot.create(schema(meta), allocator);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        ArrowFileWriter writer = new ArrowFileWriter(root, null, channel)) {
      IntVector layer = (IntVector) root.getVector("layer");
      IntVector head = (IntVector) root.getVector("head");
      IntVector nLo = (IntVector) root.getVector("n_lo");
      IntVector nHi = (IntVector) root.getVector("n_hi");
      IntVector k = (IntVector) root.getVector("k");
      Float4Vector theta = (Float4Vector) root.getVector("theta");
      BigIntVector rows = (BigIntVector) root.getVector("rows");
      Float8Vector mean = (Float8Vector) root.getVector("mean");
      Float8Vector std = (Float8Vector) root.getVector("std");
      Float8Vector sdc = (Float8Vector) root.getVector("sdc_mass");
      writer.start();
      int batches = Math.max(1, (cells.size() + BATCH_ROWS - 1) / BATCH_ROWS);
      for (int batch = 0; batch < batches; batch++) {
        int from = batch * BATCH_ROWS;
        int to = Math.min(cells.size(), from + BATCH_ROWS);
        root.allocateNew();
        for (int i = from; i < to; i++) {
          ThresholdCell c = cells.get(i);
          int r = i - from;
          layer.setSafe(r, c.layer());
          head.setSafe(r, c.head());
          nLo.setSafe(r, c.nLo());
          nHi.setSafe(r, c.nHi());
          k.setSafe(r, c.k());
          theta.setSafe(r, c.theta());
          rows.setSafe(r, c.rows());
          mean.setSafe(r, c.mean());
          std.setSafe(r, c.std());
          if (Double.isNaN(c.sdcMass())) {
            sdc.setNull(r);
          } else {
            sdc.setSafe(r, c.sdcMass());
          }
        }
        root.setRowCount(to - from);
        writer.writeBatch();
      }
      writer.end();
    }
  }
}
