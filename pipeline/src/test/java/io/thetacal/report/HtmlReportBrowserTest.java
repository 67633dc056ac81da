package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opens a rendered report in headless Chromium (Debian's chromium package, installed by bin/setup):
 * every chart must be in the DOM the browser built, with drawn shapes, and the page must load without
 * console errors or network access. Leaves a screenshot at target/report-screenshot.png.
 */
class HtmlReportBrowserTest {
  private static final String[] CHARTS = {
      "heatmap-kept", "threshold-curves", "drift-ranking", "quality-sparsity", "compensation"};

  private static String chromium() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
      for (String name : new String[] {"chromium", "chromium-browser"}) {
        Path p = Paths.get(dir, name);
        if (Files.isExecutable(p)) {
          return p.toString();
        }
      }
    }
    return null;
  }

  private record Run(int exit, String stdout, String stderr) {
  }

  private static Run run(Path work, List<String> args) throws IOException, InterruptedException {
    Path out = Files.createTempFile(work, "chromium", ".out");
    Path err = Files.createTempFile(work, "chromium", ".err");
    Process p = new ProcessBuilder(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 180 s: " + args);
    }
    return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  private static List<String> command(String exe, Path profile, String... extra) {
    List<String> c = new ArrayList<>(List.of(exe, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
        "--user-data-dir=" + profile));
    c.addAll(List.of(extra));
    return c;
  }

  @Test
  void chromiumRendersEveryChartWithShapesAndNoErrors(@TempDir Path tmp) throws Exception {
    String exe = chromium();
    assumeTrue(exe != null, "chromium is not installed; run bin/setup (as root) to install Debian's"
        + " chromium package, which this rendering test needs");
    Path html = HtmlReport.write(SyntheticReport.build(), tmp.resolve("report"));
    String url = html.toUri().toString();

    Run dom = run(tmp, command(exe, Files.createDirectory(tmp.resolve("profile1")), "--dump-dom", url));
    assertEquals(0, dom.exit(), "chromium --dump-dom failed:\n" + dom.stderr());
    String d = dom.stdout();
    for (String id : CHARTS) {
      int at = d.indexOf("id=\"" + id + "\"");
      assertTrue(at > 0, "chart " + id + " missing from the DOM");
      String svg = d.substring(d.lastIndexOf("<svg", at), d.indexOf("</svg>", at));
      assertTrue(svg.contains("<title>"), id + " has a title");
      int shapes = count(svg, "<rect ") + count(Pattern.compile("<path [^>]*d=\"M[^\"]+\""), svg)
          + count(svg, "<circle ");
      assertTrue(shapes >= 3, id + " draws shapes, found " + shapes);
    }
    assertEquals(9, count(d, "<g class=\"cell\">"), "3 × 3 heatmap cells");
    assertTrue(count(Pattern.compile("<path class=\"series\" d=\"M[^\"]+\""), d) >= 3 + 6,
        "threshold and quality series are drawn as paths");
    assertTrue(d.contains("id=\"gates-table\""));
    assertFalse(d.contains("<parsererror"), "the SVG parsed");
    List<String> problems = dom.stderr().lines()
        .filter(l -> l.contains("CONSOLE") || l.contains("Uncaught")
            || l.contains("ERR_") && l.contains("file://"))
        .toList();
    assertTrue(problems.isEmpty(), "page errors: " + problems);

    Path shot = Paths.get("target", "report-screenshot.png").toAbsolutePath();
    Files.createDirectories(shot.getParent());
    Files.deleteIfExists(shot);
    Run pic = run(tmp, command(exe, Files.createDirectory(tmp.resolve("profile2")),
        "--hide-scrollbars", "--screenshot=" + shot, "--window-size=1400,3000", url));
    assertEquals(0, pic.exit(), "chromium --screenshot failed:\n" + pic.stderr());
    assertTrue(Files.size(shot) > 50_000, "a screenshot with content, " + Files.size(shot) + " bytes");
  }

  private static int count(String s, String needle) {
    int n = 0;
    for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  private static int count(Pattern p, String s) {
    Matcher m = p.matcher(s);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }
}
