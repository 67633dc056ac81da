package io.thetacal.model.llama;

import io.thetacal.model.Gemm;
import io.thetacal.model.WeightMatrix;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/** Splits dense work (projections, attention groups) over the machine's cores. */
final class Parallel {
  static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
  private static final ExecutorService POOL = THREADS == 1 ? null
      : Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "thetacal-decoder-worker");
        t.setDaemon(true);
        return t;
      });
  /** Native BLAS (OpenBLAS) threads its own GEMMs; splitting them again would oversubscribe the cores. */
  static final boolean NATIVE_BLAS = Gemm.implementation().contains("JNIBLAS");
  /** Below this many multiply-adds a projection runs on the calling thread. */
  private static final long MIN_PARALLEL_WORK = 1L << 18;

  private Parallel() {
  }

  /** Runs body(from, to) over [0, n) in THREADS contiguous blocks when n * costPerItem is large. */
  static void blocks(int n, long costPerItem, java.util.function.BiConsumer<Integer, Integer> body) {
    int parts = (long) n * costPerItem < MIN_PARALLEL_WORK ? 1 : Math.min(THREADS, n);
    int step = (n + parts - 1) / Math.max(1, parts);
    run(parts, p -> {
      int from = p * step;
      int to = Math.min(n, from + step);
      if (from < to) {
        body.accept(from, to);
      }
    });
  }

  /** Runs task(0..parts-1), part 0 on the calling thread. */
  static void run(int parts, IntConsumer task) {
    if (parts <= 1 || POOL == null) {
      for (int p = 0; p < parts; p++) {
        task.accept(p);
      }
      return;
    }
    Future<?>[] futures = new Future<?>[parts - 1];
    for (int p = 1; p < parts; p++) {
      int part = p;
      futures[p - 1] = POOL.submit(() -> task.accept(part));
    }
    RuntimeException failure = null;
    try {
      task.accept(0);
    } catch (RuntimeException e) {
      failure = e;
    }
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      } catch (java.util.concurrent.ExecutionException e) {
        if (failure == null) {
          failure = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Floats of one thread's dequantization scratch: a tile of weight rows is decoded into it. */
  static final int TILE_FLOATS = 1 << 20;
  static final int MIN_TILE_ROWS = 64;
  static final int MAX_TILE_ROWS = 1024;
  private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

  /**
   * Weight rows decoded per tile for rows of k elements. Every tile is one GEMM that packs all m activation
   * rows again, so taller tiles are faster: measured (CPU time, one BLAS thread, 512 rows, the gate/up and
   * down products of a 768-wide model) Q8_0 tiles of 64 / 256 / 1024 rows reached 80 / 85 / 91 % of the
   * same product on a heap matrix.
   */
  static int tileRows(int k) {
    return Math.max(MIN_TILE_ROWS, Math.min(MAX_TILE_ROWS, TILE_FLOATS / k));
  }

  /**
   * y[m × n] = x[m × k] · W[n × k]ᵀ (+ beta · y). Heap matrices go to the BLAS directly; stored
   * (memory-mapped) matrices are decoded a tile of {@link #tileRows} rows at a time into a per-thread
   * scratch buffer, and each tile is one GEMM over all m rows of x, so the decoding cost is shared by the
   * m rows. Tiles are split over threads when the product is large.
   */
  static void linear(int m, int n, int k, float[] x, int xOff, int ldx, WeightMatrix w, float beta,
      float[] y, int yOff, int ldy) {
    if (w.rows() != n || w.cols() != k) {
      throw new IllegalArgumentException("a " + w.rows() + " × " + w.cols() + " matrix used as " + n + " × " + k);
    }
    float[] heap = w.heapArray();
    if (heap != null) {
      linear(m, n, k, x, xOff, ldx, heap, 0, beta, y, yOff, ldy);
      return;
    }
    int tile = tileRows(k);
    int tiles = (n + tile - 1) / tile;
    long work = (long) m * n * k;
    int parts = work < MIN_PARALLEL_WORK || NATIVE_BLAS ? 1 : Math.min(THREADS, tiles);
    run(parts, p -> {
      float[] scratch = SCRATCH.get();
      if (scratch.length < tile * k) {
        scratch = new float[tile * k];
        SCRATCH.set(scratch);
      }
      for (int ti = p; ti < tiles; ti += parts) {
        int r0 = ti * tile;
        int rows = Math.min(tile, n - r0);
        w.decodeRows(r0, rows, scratch, 0);
        Gemm.mulTransposed(m, rows, k, 1f, x, xOff, ldx, scratch, 0, k, beta, y, yOff + r0, ldy);
      }
    });
  }

  /**
   * y[m × n] = x[m × k] · W[n × k]ᵀ (+ beta · y), split over rows of x when m is large, else over rows of
   * W.
   */
  static void linear(int m, int n, int k, float[] x, int xOff, int ldx, float[] w, int wOff, float beta,
      float[] y, int yOff, int ldy) {
    long work = (long) m * n * k;
    int parts = work < MIN_PARALLEL_WORK || NATIVE_BLAS ? 1 : THREADS;
    if (parts == 1) {
      Gemm.mulTransposed(m, n, k, 1f, x, xOff, ldx, w, wOff, k, beta, y, yOff, ldy);
      return;
    }
    if (m >= 4 * parts) {
      int step = (m + parts - 1) / parts;
      run(parts, p -> {
        int r0 = p * step;
        int rows = Math.min(step, m - r0);
        if (rows > 0) {
          Gemm.mulTransposed(rows, n, k, 1f, x, xOff + r0 * ldx, ldx, w, wOff, k, beta, y,
              yOff + r0 * ldy, ldy);
        }
      });
    } else {
      int step = (n + parts - 1) / parts;
      run(parts, p -> {
        int c0 = p * step;
        int cols = Math.min(step, n - c0);
        if (cols > 0) {
          // a private block: the BLAS bounds check rejects column offsets into a row-major output
          float[] tmp = new float[m * cols];
          if (beta != 0f) {
            for (int i = 0; i < m; i++) {
              System.arraycopy(y, yOff + i * ldy + c0, tmp, i * cols, cols);
            }
          }
          Gemm.mulTransposed(m, cols, k, 1f, x, xOff, ldx, w, wOff + c0 * k, k, beta, tmp, 0, cols);
          for (int i = 0; i < m; i++) {
            System.arraycopy(tmp, i * cols, y, yOff + i * ldy + c0, cols);
          }
        }
      });
    }
  }
}
