package io.thetacal.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/** Shared helpers of the benchmark harness: timing, medians with spreads, load average, fits. */
public final class Bench {
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  private Bench() {
  }

  /** Median with min and max of a set of measurements. */
  public record Stat(double median, double min, double max, int n) {
    public static Stat of(double[] v) {
      double[] s = v.clone();
      Arrays.sort(s);
      int n = s.length;
      double med = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
      return new Stat(med, s[0], s[n - 1], n);
    }

    /** "median (min – max)" in the given format. */
    public String fmt(String f) {
      return String.format(Locale.ROOT, f + " (" + f + " – " + f + ")", median, min, max);
    }
  }

  /** A timed body. */
  public interface Body {
    void run() throws Exception;
  }

  /** Wall seconds and process CPU seconds of one run. */
  public record Timing(double wall, double cpu) {
  }

  public static Timing time(Body body) {
    try {
      long c0 = OS.getProcessCpuTime();
      long t0 = System.nanoTime();
      body.run();
      return new Timing((System.nanoTime() - t0) / 1e9, (OS.getProcessCpuTime() - c0) / 1e9);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The 1-minute load average from /proc/loadavg. */
  public static double load() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String loadavg() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Slope of log(y) against log(x) by least squares: the fitted exponent. */
  public static double exponent(double[] x, double[] y) {
    int n = x.length;
    double mx = 0;
    double my = 0;
    for (int i = 0; i < n; i++) {
      mx += Math.log(x[i]) / n;
      my += Math.log(y[i]) / n;
    }
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < n; i++) {
      double dx = Math.log(x[i]) - mx;
      sxy += dx * (Math.log(y[i]) - my);
      sxx += dx * dx;
    }
    return sxy / sxx;
  }

  /** Least-squares line y = a + b·x; returns {a, b}. */
  public static double[] line(double[] x, double[] y) {
    int n = x.length;
    double mx = Arrays.stream(x).sum() / n;
    double my = Arrays.stream(y).sum() / n;
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < n; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
    }
    double b = sxy / sxx;
    return new double[] {my - b * mx, b};
  }

  public static double[] scale(double[] v, double f) {
    double[] o = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      o[i] = v[i] * f;
    }
    return o;
  }

  public static String f(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }

  public static void write(Path out, String md) throws IOException {
    if (out.toAbsolutePath().getParent() != null) {
      Files.createDirectories(out.toAbsolutePath().getParent());
    }
    Files.writeString(out, md);
    System.out.print(md);
  }
}
