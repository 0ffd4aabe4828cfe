package io.lookalike.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Confluent-compatible schema registry for tests: Apicurio Registry (in-memory H2 storage)
 * in a child JVM on a loopback port the OS chose, from the runnable jar that the {@code
 * testkit-registry} module builds. Its Confluent API is at {@link #url()}. Starts in 10-20 s: share
 * one per test class.
 */
public final class ApicurioRegistry implements AutoCloseable {

  private static final Pattern LISTENING =
      Pattern.compile("Listening on: (http://127\\.0\\.0\\.1:\\d+)");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

  private final Process process;
  private final String base;
  private final Path log;

  private ApicurioRegistry(Process process, String base, Path log) {
    this.process = process;
    this.base = base;
    this.log = log;
  }

  /** The runnable jar, built by {@code ./mvnw -pl testkit-registry package}. */
  public static Path jar() {
    String repo = System.getProperty("lookalike.repo.dir");
    Path jar =
        (repo == null ? Path.of("..") : Path.of(repo))
            .resolve("testkit-registry/target/apicurio-registry-runner.jar")
            .toAbsolutePath()
            .normalize();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          jar
              + " is missing: build it with ./mvnw -pl testkit-registry package (a module that"
              + " tests against the registry depends on lookalike-testkit-registry so that -am does)");
    }
    return jar;
  }

  /**
   * Starts a registry and waits until its Confluent API answers.
   *
   * @param logFile where the registry's output goes (read it when a test fails)
   */
  public static ApicurioRegistry start(Path logFile) {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.add("-Xmx384m");
    command.add("-XX:TieredStopAtLevel=1"); // starts faster; a test registry serves little
    command.add("-Dquarkus.http.host=127.0.0.1");
    command.add("-Dquarkus.http.port=0");
    command.add("-jar");
    command.add(jar().toString());
    Process process;
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
    CompletableFuture<String> listening = new CompletableFuture<>();
    Thread pump =
        new Thread(
            () -> {
              try (BufferedReader in =
                      new BufferedReader(
                          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                  var out = Files.newBufferedWriter(logFile)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  out.write(line);
                  out.newLine();
                  out.flush();
                  Matcher m = LISTENING.matcher(line);
                  if (m.find()) {
                    listening.complete(m.group(1));
                  }
                }
              } catch (IOException e) {
                listening.completeExceptionally(e);
              } finally {
                listening.completeExceptionally(
                    new IllegalStateException("the registry exited before listening"));
              }
            },
            "apicurio-registry-log");
    pump.setDaemon(true);
    pump.start();
    String base;
    try {
      base = listening.get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new IllegalStateException("interrupted starting the registry", e);
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      throw new IllegalStateException(
          "the registry did not start within " + START_TIMEOUT + "; its output is in " + logFile,
          e);
    }
    ApicurioRegistry registry = new ApicurioRegistry(process, base, logFile);
    registry.awaitReady();
    return registry;
  }

  private void awaitReady() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      try {
        HttpResponse<Void> answer =
            http.send(
                HttpRequest.newBuilder(URI.create(url() + "/subjects"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (answer.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      if (System.nanoTime() > deadline || !process.isAlive()) {
        close();
        throw new IllegalStateException("the registry's Confluent API did not answer; see " + log);
      }
      try {
        Thread.sleep(100); // polling a condition, bounded by the deadline
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** The Confluent-compatible API (ccompat v7): the value of {@code schema.registry.url}. */
  public String url() {
    return base + "/apis/ccompat/v7";
  }

  /** Where the registry's output goes. */
  public Path log() {
    return log;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
