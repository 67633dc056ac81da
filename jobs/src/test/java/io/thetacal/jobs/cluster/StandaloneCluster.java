package io.thetacal.jobs.cluster;

import java.io.IOException;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/**
 * A real Spark standalone cluster (one master, N workers) on 127.0.0.1, built from the jars Maven
 * resolved for this module, with no Spark installation: a minimal SPARK_HOME whose jars/ links the
 * Spark classpath. The application is submitted like bin/thetacal does: thin jobs jar plus --jars for
 * what Spark lacks. Every process started here is stopped by PID in {@link #close()}.
 */
public final class StandaloneCluster implements AutoCloseable {
  /** The application's Spark settings (Kryo serializer among them), shipped in conf/. */
  static final Path SPARK_DEFAULTS = Path.of("").toAbsolutePath().getParent().resolve("conf")
      .resolve("spark-defaults.conf");
  private final Path dir;
  private final Path sparkHome;
  private final List<Process> processes = new ArrayList<>();
  private final List<Process> workerProcesses = new ArrayList<>();
  private final String masterUrl;
  private final int masterUiPort;
  private final List<Path> shipJars = new ArrayList<>();
  private final Path appJar;

  /**
   * Starts a master and {@code workers} workers with {@code coresPerWorker} cores each, for the jobs
   * module in the working directory (as Maven runs its tests).
   */
  public StandaloneCluster(Path dir, int workers, int coresPerWorker) throws IOException, InterruptedException {
    this(Path.of(""), dir, workers, coresPerWorker);
  }

  /** As above, for the jobs module at {@code moduleDir} (its build output supplies the jars). */
  public StandaloneCluster(Path moduleDir, Path dir, int workers, int coresPerWorker)
      throws IOException, InterruptedException {
    this.dir = dir;
    Path module = moduleDir.toAbsolutePath().normalize();
    List<String> sparkCp = readClasspath(module.resolve("spark-classpath/target/spark.txt"));
    List<String> appCp = readClasspath(module.resolve("target/classpath/app.txt"));
    Set<String> testCp = new LinkedHashSet<>();
    for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      testCp.add(Path.of(e).toAbsolutePath().normalize().toString());
    }

    sparkHome = dir.resolve("spark-home");
    Path jars = Files.createDirectories(sparkHome.resolve("jars"));
    Files.createDirectories(sparkHome.resolve("conf"));
    Files.copy(module.resolve("../conf/log4j2.properties"), sparkHome.resolve("conf/log4j2.properties"));
    Set<String> home = new LinkedHashSet<>(sparkCp);
    Set<Path> sparkArtifacts = new java.util.HashSet<>();
    for (String e : home) {
      Path p = Path.of(e);
      sparkArtifacts.add(p.getParent().getParent());
      if (!Files.isRegularFile(p)) {
        throw new IllegalStateException("Spark jar " + e + " is missing");
      }
      Path link = jars.resolve(p.getFileName());
      if (!Files.exists(link)) {
        Files.createSymbolicLink(link, p);
      }
    }
    for (String e : appCp) {
      Path p = Path.of(e);
      if (!Files.isDirectory(p) && sparkArtifacts.contains(p.getParent().getParent())) {
        continue;
      }
      if (!testCp.contains(p.toAbsolutePath().normalize().toString())) {
        throw new IllegalStateException("Application jar " + e + " is not on the test classpath");
      }
      shipJars.add(Files.isDirectory(p) ? jarOf(p, dir.resolve("ship").resolve(p.getParent().getParent()
          .getFileName() + ".jar")) : p);
    }
    appJar = jarOf(module.resolve("target/classes"), dir.resolve("thetacal-jobs.jar"));

    int masterPort = freePort();
    masterUiPort = freePort();
    masterUrl = "spark://127.0.0.1:" + masterPort;
    start("master", List.of("-Dspark.master.rest.enabled=false"), "org.apache.spark.deploy.master.Master",
        "--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(masterUiPort));
    awaitPort(masterPort, Duration.ofSeconds(90));
    for (int i = 0; i < workers; i++) {
      start("worker-" + i, List.of(), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
          "--port", String.valueOf(freePort()), "--webui-port", String.valueOf(freePort()),
          "--cores", String.valueOf(coresPerWorker), "--memory", "2g",
          "--work-dir", Files.createDirectories(dir.resolve("work-" + i)).toString(), masterUrl);
      workerProcesses.add(processes.get(processes.size() - 1));
    }
    awaitWorkers(workers, Duration.ofSeconds(90));
  }

  /** The executor JVMs the workers run now (CoarseGrainedExecutorBackend children of the workers). */
  public List<ProcessHandle> executors() {
    List<ProcessHandle> out = new ArrayList<>();
    for (Process w : workerProcesses) {
      w.descendants().filter(h -> h.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
          .forEach(out::add);
    }
    return out;
  }

  public String masterUrl() {
    return masterUrl;
  }

  /** The thin application jar (the jobs module's classes). */
  public Path appJar() {
    return appJar;
  }

  /** The jars passed with --jars: the application's dependencies that Spark lacks. */
  public List<Path> shipJars() {
    return List.copyOf(shipJars);
  }

  /**
   * Runs SparkSubmit in client mode against this cluster; returns its exit code. Output goes to
   * {@code log}.
   */
  public int submit(String mainClass, List<String> conf, List<String> args, Path log, Duration timeout)
      throws IOException, InterruptedException {
    return submit(masterUrl, mainClass, conf, args, log, timeout);
  }

  /**
   * Runs SparkSubmit in client mode against another master (e.g. {@code local[1]}, in the submitted JVM)
   * with the same jars and settings; returns its exit code.
   */
  public int submit(String master, String mainClass, List<String> conf, List<String> args, Path log,
      Duration timeout) throws IOException, InterruptedException {
    // the application's settings from conf/spark-defaults.conf, as bin/thetacal submits it
    List<String> cmd = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit", "--master", master,
        "--properties-file", SPARK_DEFAULTS.toString(),
        "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
        "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=1g",
        "--class", mainClass,
        "--jars", String.join(",", shipJars.stream().map(Path::toString).toList())));
    for (String c : conf) {
      cmd.add("--conf");
      cmd.add(c);
    }
    cmd.add(appJar.toString());
    cmd.addAll(args);
    Process p = java(List.of("-Xmx2g"), cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    processes.add(p);
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      destroy(p);
      throw new IllegalStateException("spark-submit did not finish in " + timeout + "; log: " + log);
    }
    return p.exitValue();
  }

  private void start(String name, List<String> jvm, String mainClass, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(mainClass);
    cmd.addAll(List.of(args));
    Process p = java(jvm, cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile()).start();
    processes.add(p);
  }

  private ProcessBuilder java(List<String> jvm, List<String> mainAndArgs) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(moduleFlags());
    cmd.addAll(jvm);
    cmd.add("-Dlog4j2.configurationFile=" + sparkHome.resolve("conf/log4j2.properties"));
    String repo = System.getProperty("maven.repo.local");
    if (repo != null) {
      cmd.add("-Dmaven.repo.local=" + repo);
    }
    cmd.add("-cp");
    cmd.add(sparkHome.resolve("conf") + java.io.File.pathSeparator + sparkHome.resolve("jars") + "/*");
    cmd.addAll(mainAndArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    return pb;
  }

  /** The module flags of the test JVM itself (surefire's argLine), which Spark's JVMs need too. */
  /**
   * The module and access flags of this JVM (surefire's argLine) that a child JVM of the jobs' code needs:
   * the cluster's daemons, or a driver a test launches.
   */
  public static List<String> moduleFlags() {
    List<String> out = new ArrayList<>();
    out.add("-XX:+IgnoreUnrecognizedVMOptions");
    for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("--enable-native-access")
          || a.startsWith("--sun-misc-unsafe") || a.startsWith("-Dio.netty")) {
        out.add(a);
      }
    }
    return out;
  }

  private void awaitWorkers(int n, Duration timeout) throws InterruptedException, IOException {
    long end = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < end) {
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + masterUiPort + "/json/")
            .toURL().openConnection();
        c.setConnectTimeout(2000);
        c.setReadTimeout(2000);
        last = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (last.replace(" ", "").contains("\"aliveworkers\":" + n)) {
          return;
        }
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException(n + " workers did not register in " + timeout + "; master said: " + last
        + "; logs in " + dir);
  }

  private static void awaitPort(int port, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(300);
      }
    }
    throw new IllegalStateException("Nothing listens on 127.0.0.1:" + port + " after " + timeout);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static List<String> readClasspath(Path file) throws IOException {
    if (!Files.exists(file)) {
      throw new IllegalStateException(file + " is missing: it is written by the build (mvn generate-resources)");
    }
    return Arrays.stream(Files.readString(file).trim().split(java.io.File.pathSeparator))
        .filter(s -> !s.isBlank()).toList();
  }

  /** Packs a classes directory into a jar. */
  static Path jarOf(Path classes, Path jar) throws IOException {
    Files.createDirectories(jar.getParent());
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      Files.walkFileTree(classes, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
          Files.copy(file, (OutputStream) out);
          out.closeEntry();
          return FileVisitResult.CONTINUE;
        }
      });
    }
    return jar;
  }

  private static void destroy(Process p) throws InterruptedException {
    p.descendants().forEach(ProcessHandle::destroy);
    p.destroy();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** Stops every process this cluster started (workers' executors included), by PID. */
  @Override
  public void close() throws InterruptedException {
    for (int i = processes.size() - 1; i >= 0; i--) {
      destroy(processes.get(i));
    }
  }
}
