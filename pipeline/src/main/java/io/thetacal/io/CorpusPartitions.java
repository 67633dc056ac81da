package io.thetacal.io;

import io.thetacal.calibration.CorpusPartition;
import io.thetacal.calibration.Watermark;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Lists the partitions of a corpus dataset on disk. Every entry directly under the dataset root is one
 * partition (a file such as {@code part-00000.parquet} or a directory such as {@code date=2026-11-23/}),
 * except names starting with '.' or '_' (writers' temporary files and markers). A file's fingerprint is
 * the SHA-256 of its bytes; a directory's is the SHA-256 of the sorted lines "relative path, tab, SHA-256"
 * of its regular files (again skipping '.'/'_' names).
 */
public final class CorpusPartitions {
  private CorpusPartitions() {
  }

  /**
   * The partitions of one dataset, sorted by id.
   *
   * @throws IOException naming the dataset and root when the root is not a directory
   */
  public static List<CorpusPartition> scan(String dataset, Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      throw new IOException("dataset '" + dataset + "' has root " + root
          + " but that is not a directory");
    }
    List<CorpusPartition> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        if (hidden(p)) {
          continue;
        }
        String fp = Files.isDirectory(p) ? directoryFingerprint(p) : Sha256.ofFile(p);
        out.add(new CorpusPartition(dataset, p.getFileName().toString(), fp));
      }
    }
    out.sort(java.util.Comparator.comparing(CorpusPartition::id));
    return out;
  }

  /** The partitions of every dataset (name → root), in dataset order. */
  public static List<CorpusPartition> scanAll(Map<String, Path> datasets) throws IOException {
    List<CorpusPartition> out = new ArrayList<>();
    for (Map.Entry<String, Path> d : new TreeMap<>(datasets).entrySet()) {
      out.addAll(scan(d.getKey(), d.getValue()));
    }
    return out;
  }

  /**
   * One SHA-256 per dataset of a watermark, over its sorted "id, tab, fingerprint" lines: the corpus
   * fingerprints recorded in a version's {@link Provenance}.
   */
  public static Map<String, String> fingerprints(Watermark watermark) {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, SortedMap<String, String>> d : watermark.datasets().entrySet()) {
      StringBuilder sb = new StringBuilder();
      d.getValue().forEach((id, fp) -> sb.append(id).append('\t').append(fp).append('\n'));
      out.put(d.getKey(), Sha256.of(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  private static boolean hidden(Path p) {
    String n = p.getFileName().toString();
    return n.startsWith(".") || n.startsWith("_");
  }

  private static String directoryFingerprint(Path dir) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile)
          .filter(f -> java.util.stream.StreamSupport.stream(dir.relativize(f).spliterator(), false)
              .noneMatch(CorpusPartitions::hidden))
          .sorted().toList();
    }
    StringBuilder sb = new StringBuilder();
    for (Path f : files) {
      sb.append(dir.relativize(f).toString().replace('\\', '/')).append('\t')
          .append(Sha256.ofFile(f)).append('\n');
    }
    return Sha256.of(sb.toString().getBytes(StandardCharsets.UTF_8));
  }
}
