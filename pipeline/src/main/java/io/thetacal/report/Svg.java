package io.thetacal.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A minimal SVG writer for the report's inline charts: shapes, text, linear scales; all text escaped. */
final class Svg {
  static final String[] PALETTE = {
      "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
      "#bcbd22", "#7f7f7f", "#393b79", "#637939"};

  private final StringBuilder sb = new StringBuilder();

  Svg(String id, String title, int width, int height) {
    sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"").append(Html.escape(id))
        .append("\" width=\"").append(width).append("\" height=\"").append(height)
        .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height)
        .append("\" role=\"img\"><title>").append(Html.escape(title)).append("</title>\n");
  }

  Svg rect(double x, double y, double w, double h, String fill, String extra) {
    sb.append("<rect x=\"").append(f(x)).append("\" y=\"").append(f(y)).append("\" width=\"")
        .append(f(Math.max(0, w))).append("\" height=\"").append(f(Math.max(0, h)))
        .append("\" fill=\"").append(fill).append('"').append(extra == null ? "" : " " + extra)
        .append("/>\n");
    return this;
  }

  Svg line(double x1, double y1, double x2, double y2, String stroke, double width) {
    sb.append("<line x1=\"").append(f(x1)).append("\" y1=\"").append(f(y1)).append("\" x2=\"")
        .append(f(x2)).append("\" y2=\"").append(f(y2)).append("\" stroke=\"").append(stroke)
        .append("\" stroke-width=\"").append(f(width)).append("\"/>\n");
    return this;
  }

  /** A polyline as a path; points with a non-finite coordinate are skipped. */
  Svg path(double[] xs, double[] ys, String stroke, double width, String cssClass) {
    return path(xs, ys, stroke, width, cssClass, null);
  }

  /** A polyline with extra attributes (e.g. a dash pattern). */
  Svg path(double[] xs, double[] ys, String stroke, double width, String cssClass, String extra) {
    StringBuilder d = new StringBuilder();
    for (int i = 0; i < xs.length; i++) {
      if (Double.isFinite(xs[i]) && Double.isFinite(ys[i])) {
        d.append(d.length() == 0 ? "M" : " L").append(f(xs[i])).append(' ').append(f(ys[i]));
      }
    }
    if (d.length() > 0) {
      sb.append("<path class=\"").append(cssClass).append("\" d=\"").append(d)
          .append("\" fill=\"none\" stroke=\"").append(stroke).append("\" stroke-width=\"")
          .append(f(width)).append('"').append(extra == null ? "" : " " + extra).append("/>\n");
    }
    return this;
  }

  Svg circle(double cx, double cy, double r, String fill, String tooltip) {
    sb.append("<circle cx=\"").append(f(cx)).append("\" cy=\"").append(f(cy)).append("\" r=\"")
        .append(f(r)).append("\" fill=\"").append(fill).append("\">");
    if (tooltip != null) {
      sb.append("<title>").append(Html.escape(tooltip)).append("</title>");
    }
    sb.append("</circle>\n");
    return this;
  }

  Svg text(double x, double y, String text, String anchor, int size, String extra) {
    sb.append("<text x=\"").append(f(x)).append("\" y=\"").append(f(y)).append("\" text-anchor=\"")
        .append(anchor).append("\" font-size=\"").append(size).append('"')
        .append(extra == null ? "" : " " + extra).append('>').append(Html.escape(text))
        .append("</text>\n");
    return this;
  }

  Svg raw(String s) {
    sb.append(s);
    return this;
  }

  String end() {
    return sb.append("</svg>\n").toString();
  }

  static String f(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  /** A linear map from a data domain onto a pixel range, with round-numbered ticks. */
  record Scale(double lo, double hi, double from, double to) {
    static Scale of(double lo, double hi, double from, double to) {
      if (!(hi > lo)) {
        double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
      }
      return new Scale(lo, hi, from, to);
    }

    double map(double v) {
      return from + (v - lo) / (hi - lo) * (to - from);
    }

    List<Double> ticks(int approx) {
      double span = hi - lo;
      double raw = span / Math.max(1, approx);
      double mag = Math.pow(10, Math.floor(Math.log10(raw)));
      double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag
          : 10 * mag;
      List<Double> t = new ArrayList<>();
      for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
        t.add(Math.abs(v) < step * 1e-9 ? 0 : v);
      }
      return t;
    }
  }

  /** Draws x and y axes with ticks, grid lines and labels into a plot area. */
  Svg axes(Scale x, Scale y, String xLabel, String yLabel, int ticks, String xFormat,
      String yFormat) {
    double top = y.to();
    double bottom = y.from();
    double left = x.from();
    double right = x.to();
    for (double t : y.ticks(ticks)) {
      double py = y.map(t);
      line(left, py, right, py, "#e3e3e3", 1);
      text(left - 6, py + 4, String.format(Locale.ROOT, yFormat, t), "end", 11, null);
    }
    for (double t : x.ticks(ticks)) {
      double px = x.map(t);
      line(px, bottom, px, bottom + 5, "#555", 1);
      text(px, bottom + 18, String.format(Locale.ROOT, xFormat, t), "middle", 11, null);
    }
    line(left, bottom, right, bottom, "#555", 1);
    line(left, top, left, bottom, "#555", 1);
    text((left + right) / 2, bottom + 36, xLabel, "middle", 12, null);
    text(14, (top + bottom) / 2, yLabel, "middle", 12,
        "transform=\"rotate(-90 14 " + f((top + bottom) / 2) + ")\"");
    return this;
  }
}
