package io.lookalike.local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How long the local mode takes to resume after {@code kill -9}, by catalog size, with static group
 * membership (the default) and without it ({@code -Dgroup.instance.id=}, as before): the local mode
 * in a child JVM indexes N products (sharing 50 photos, so that inference is not what is timed), is
 * killed -9 and started again on the same data directory. From the restart it times: the broker
 * answering, the gateway answering {@code /health}, the fetcher's, the embedder's and the indexer's
 * groups held by the restarted instance alone (its tasks assigned: RUNNING once restored), and a
 * product published right after the restart being searchable.
 *
 * <pre>
 * java ... io.lookalike.local.RestartBench [catalog sizes, default 1000 10000]
 * </pre>
 */
public final class RestartBench {

  private static final Duration STEP = Duration.ofMinutes(10);

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = new ArrayList<>();
    for (String arg : args.length == 0 ? new String[] {"1000", "10000"} : args) {
      sizes.add(Integer.parseInt(arg));
    }
    List<String> rows = new ArrayList<>();
    rows.add(
        "| products | membership | broker up | gateway answers | groups held by the new instance"
            + " | new product searchable |");
    rows.add("| ---: | --- | ---: | ---: | ---: | ---: |");
    for (int size : sizes) {
      for (boolean staticMembership : new boolean[] {false, true}) {
        String row = run(size, staticMembership);
        System.out.println(row);
        rows.add(row);
      }
    }
    System.out.println();
    System.out.println("Restart after kill -9, ms from the restart (load: " + load() + ")");
    rows.forEach(System.out::println);
  }

  private static String run(int products, boolean staticMembership) throws Exception {
    Path tmp = Files.createTempDirectory("restart-bench");
    List<String> settings = staticMembership ? List.of() : List.of("-Dgroup.instance.id=");
    try (LocalRestart local = new LocalRestart(tmp, settings, 50)) {
      local.start();
      long t = System.nanoTime();
      require(LocalRestart.await(t, STEP, () -> local.health() > 0), "start", local);
      for (int i = 0; i < products; i++) {
        local.publish("p-" + i, i);
      }
      local.flush();
      String last = "p-" + (products - 1);
      long indexed =
          LocalRestart.await(
              t,
              STEP,
              () -> {
                try {
                  return local.groups().size() >= 3 && local.lag() == 0 && local.searchable(last);
                } catch (Exception e) {
                  return false;
                }
              });
      require(indexed, "indexing " + products, local);
      System.out.printf("%d products indexed in %d ms; kill -9%n", products, indexed);

      local.kill();
      long t0 = System.nanoTime();
      local.start();
      long broker = require(LocalRestart.await(t0, STEP, local::brokerUp), "broker", local);
      local.publish("after-restart", 7);
      local.flush();
      long gateway = require(LocalRestart.await(t0, STEP, () -> local.health() > 0), "gw", local);
      long groups =
          require(LocalRestart.await(t0, STEP, () -> local.groupsTakenOver(2)), "groups", local);
      long searchable =
          require(
              LocalRestart.await(t0, STEP, () -> local.searchable("after-restart")),
              "searchable",
              local);
      return String.format(
          "| %,d | %s | %,d | %,d | %,d | %,d |",
          products,
          staticMembership ? "static (group.instance.id per data dir)" : "dynamic (before)",
          broker,
          gateway,
          groups,
          searchable);
    } finally {
      deleteRecursively(tmp);
    }
  }

  private static void deleteRecursively(Path dir) throws java.io.IOException {
    try (var files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static long require(long ms, String step, LocalRestart local) {
    if (ms < 0) {
      throw new IllegalStateException(
          step + " did not finish within " + STEP + ":\n" + local.tail());
    }
    return ms;
  }

  private static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).strip();
    } catch (Exception e) {
      return "unknown";
    }
  }
}
