package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.ThresholdCell;
import io.thetacal.calibration.ThresholdTable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowThresholdWriterTest {
  @TempDir
  Path dir;

  private static List<ThresholdCell> readBack(Path file, Map<String, String> metadataOut)
      throws IOException {
    List<ThresholdCell> out = new java.util.ArrayList<>();
    try (BufferAllocator allocator = new RootAllocator();
        FileChannel ch = FileChannel.open(file);
        ArrowFileReader reader = new ArrowFileReader(ch, allocator)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      metadataOut.putAll(root.getSchema().getCustomMetadata());
      for (ArrowBlock block : reader.getRecordBlocks()) {
        reader.loadRecordBatch(block);
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
        for (int i = 0; i < root.getRowCount(); i++) {
          out.add(new ThresholdCell(layer.get(i), head.get(i), -1, nLo.get(i), nHi.get(i), -1,
              k.get(i), theta.get(i), rows.get(i), mean.get(i), std.get(i),
              sdc.isNull(i) ? Double.NaN : sdc.get(i)));
        }
      }
    }
    return out;
  }

  @Test
  void arrowFileHoldsEveryCalibratedCellAndReadsBackWithArrowFileReader() throws IOException {
    CalibrationState state = Fixtures.state(7);
    for (Placement p : Placement.values()) {
      ThresholdTable table = Fixtures.table(state, p);
      Path file = dir.resolve(p + ".arrow");
      ArrowThresholdWriter.write(table, file, Map.of("model_id", "tiny-test-model"));
      Map<String, String> meta = new java.util.HashMap<>();
      List<ThresholdCell> back = readBack(file, meta);
      List<ThresholdCell> want = table.cells();
      assertEquals(want.size(), back.size());
      assertTrue(want.size() > 500, want.size() + " cells");
      for (int i = 0; i < want.size(); i++) {
        ThresholdCell w = want.get(i);
        ThresholdCell b = back.get(i);
        assertEquals(List.of(w.layer(), w.head(), w.nLo(), w.nHi(), w.k()),
            List.of(b.layer(), b.head(), b.nLo(), b.nHi(), b.k()));
        assertEquals(Float.floatToIntBits(w.theta()), Float.floatToIntBits(b.theta()));
        assertEquals(w.rows(), b.rows());
        assertEquals(Double.doubleToLongBits(w.mean()), Double.doubleToLongBits(b.mean()));
        assertEquals(Double.doubleToLongBits(w.std()), Double.doubleToLongBits(b.std()));
        assertEquals(Double.doubleToLongBits(w.sdcMass()), Double.doubleToLongBits(b.sdcMass()));
      }
      assertEquals(ArrowThresholdWriter.FORMAT, meta.get("format"));
      assertEquals(p.name(), meta.get("placement"));
      assertEquals("MEAN_STD", meta.get("estimator"));
      assertEquals("tiny-test-model", meta.get("model_id"));
    }
  }
}
