package io.lookalike.indexer.connect;

import static io.lookalike.indexer.Embeddings.embedding;

import io.lookalike.schemas.Serdes;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * Throughput of the Connect sink task (decode, check, write) into Lucene and into the Milvus
 * protocol double, by batch size: {@code ./mvnw -q -pl indexer-sink test-compile exec:java
 * -Dbench=io.lookalike.indexer.connect.SinkTaskBench -Dexec.args="[vectors] [dimension]"}. The
 * double is an exact in-memory store in the same JVM: its figure bounds our client-side cost (SDK
 * encoding, gRPC over loopback, the version query), not what a Milvus server sustains.
 */
public final class SinkTaskBench {

  public static void main(String[] args) throws Exception {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int dim = args.length > 1 ? Integer.parseInt(args[1]) : 512;
    String model = "bench_model";
    String topic = "catalog.image-embeddings." + model;
    ClusteredVectors vectors = new ClusteredVectors(dim, 100, 0.8f, 3);
    List<SinkRecord> records = new ArrayList<>(total);
    for (int i = 0; i < total; i++) {
      String key = "p" + i + "/0";
      records.add(
          new SinkRecord(
              topic,
              0,
              null,
              key.getBytes(StandardCharsets.UTF_8),
              null,
              Serdes.imageEmbedding().serialize(embedding(key, model, vectors.next(), 1)),
              i));
    }
    System.out.printf(
        "%d records of %d-d embeddings, %d cores%n",
        total, dim, Runtime.getRuntime().availableProcessors());
    try (MilvusProtocolDouble milvus = new MilvusProtocolDouble()) {
      for (int batch : new int[] {100, 500, 2000}) {
        Path dir = Files.createTempDirectory("bench");
        run(
            "lucene",
            batch,
            records,
            Map.of(
                LookalikeSinkConfig.STORE_CONFIG,
                "lucene",
                LookalikeSinkConfig.LUCENE_DIR_CONFIG,
                dir.toString()));
        run(
            "milvus-double",
            batch,
            records,
            Map.of(
                LookalikeSinkConfig.STORE_CONFIG,
                "milvus",
                MilvusConfig.URI_CONFIG,
                milvus.uri(),
                MilvusConfig.COLLECTION_PREFIX_CONFIG,
                "b" + batch + "_",
                MilvusConfig.WRITE_BATCH_SIZE_CONFIG,
                "500"));
      }
    }
  }

  private static void run(
      String name, int batch, List<SinkRecord> records, Map<String, String> config) {
    LookalikeSinkTask task = new LookalikeSinkTask(new SimpleMeterRegistry());
    task.initialize(new LookalikeSinkTaskTest.Context());
    task.start(config);
    List<Long> latencies = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < records.size(); i += batch) {
      long t = System.nanoTime();
      task.put(records.subList(i, Math.min(records.size(), i + batch)));
      latencies.add(System.nanoTime() - t);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    task.stop();
    long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
    System.out.printf(
        "%-14s batch %5d: %7.0f vectors/s, put() p50 %6.1f ms, p95 %6.1f ms (%d puts)%n",
        name,
        batch,
        records.size() / seconds,
        sorted[sorted.length / 2] / 1e6,
        sorted[(int) (sorted.length * 0.95)] / 1e6,
        sorted.length);
    Arrays.fill(sorted, 0);
  }
}
