package io.lookalike.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A stage of the distributed mode in a JVM of its own, started from the test's classpath (or a
 * given one), its output in a log file; {@link #kill()} is {@code kill -9}.
 */
final class ChildJvm implements AutoCloseable {

  private final String name;
  private final Path log;
  private final Process process;

  private ChildJvm(String name, Path log, Process process) {
    this.name = name;
    this.log = log;
    this.process = process;
  }

  /**
   * Starts {@code mainClass} with {@code args} in a new JVM.
   *
   * @param classpath the child's classpath
   * @param jvmArgs heap size and system properties
   * @param log where its stdout and stderr go (appended: a restart keeps the earlier lines)
   */
  static ChildJvm start(
      String name,
      String classpath,
      List<String> jvmArgs,
      String mainClass,
      List<String> args,
      Path log)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmArgs);
    command.add("-cp");
    command.add(classpath);
    command.add(mainClass);
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.redirectErrorStream(true);
    builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return new ChildJvm(name, log, builder.start());
  }

  /** The test's own classpath (failsafe's, not its booter jar's). */
  static String testClasspath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  String name() {
    return name;
  }

  boolean alive() {
    return process.isAlive();
  }

  /** kill -9: no shutdown hook runs, nothing is flushed or committed. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + " did not die within 30 s of kill -9");
    }
  }

  /** The last {@code lines} lines of its log. */
  String tail(int lines) {
    try {
      if (!Files.exists(log)) {
        return "(no log)";
      }
      List<String> all = Files.readAllLines(log);
      return all.subList(Math.max(0, all.size() - lines), all.size()).stream()
          .collect(Collectors.joining("\n"));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  /** Closes them all at once: SIGTERM to each, then waits for each (see {@link #close()}). */
  static void closeAll(List<ChildJvm> children) throws InterruptedException {
    children.forEach(c -> c.process.destroy());
    for (ChildJvm child : children) {
      child.close();
    }
  }

  /** SIGTERM (the stage stops cleanly), then kill -9 after 20 s. */
  @Override
  public void close() throws InterruptedException {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
