package io.lookalike.schemas;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the pipeline's topics with the cleanup policies of DESIGN.md; existing topics are left as
 * they are.
 */
public final class TopicAdmin {

  private static final String MAX_MESSAGE_BYTES = Integer.toString(16 * 1024 * 1024);

  private TopicAdmin() {}

  /**
   * The event, image and dead-letter topics, and the embedding topic and photo cache of each given
   * model.
   */
  public static void ensureTopics(
      Admin admin, Topics topics, int partitions, short replication, String... modelIds)
      throws InterruptedException {
    List<NewTopic> wanted = new ArrayList<>();
    wanted.add(
        new NewTopic(topics.productEvents(), partitions, replication)
            .configs(
                Map.of(
                    TopicConfig.CLEANUP_POLICY_CONFIG,
                    TopicConfig.CLEANUP_POLICY_DELETE,
                    TopicConfig.RETENTION_MS_CONFIG,
                    Long.toString(7L * 24 * 3600 * 1000))));
    wanted.add(compacted(topics.productImages(), partitions, replication));
    wanted.add(
        new NewTopic(topics.deadLetters(), partitions, replication)
            .configs(
                Map.of(
                    TopicConfig.CLEANUP_POLICY_CONFIG,
                    TopicConfig.CLEANUP_POLICY_DELETE,
                    TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                    MAX_MESSAGE_BYTES)));
    for (String modelId : modelIds) {
      wanted.add(compacted(topics.embeddings(modelId), partitions, replication));
      // Read whole by every embedder instance (a global store): partitions only spread the writes.
      wanted.add(compacted(topics.embeddingCache(modelId), partitions, replication));
    }
    for (var result : admin.createTopics(wanted).values().entrySet()) {
      try {
        result.getValue().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException(
              "Could not create topic " + result.getKey() + ": " + e.getCause(), e.getCause());
        }
      }
    }
  }

  private static NewTopic compacted(String name, int partitions, short replication) {
    return new NewTopic(name, partitions, replication)
        .configs(
            Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG,
                TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                MAX_MESSAGE_BYTES,
                // Keep tombstones a day so that every consumer (sinks, re-embeds) sees the delete.
                TopicConfig.DELETE_RETENTION_MS_CONFIG,
                Long.toString(24L * 3600 * 1000)));
  }
}
