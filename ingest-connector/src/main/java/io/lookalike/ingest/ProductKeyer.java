package io.lookalike.ingest;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The fetcher's first step: keys each product event by its productId (whatever key and partitioner
 * its producer used) before the repartition topic, and remembers where the record came from in
 * headers, so that a later dead letter still names the original topic, partition and offset.
 *
 * <p>An event that cannot be decoded keeps its own key (an empty one when it had none) and is
 * dead-lettered by {@link FetcherProcessor} after the repartition, in order with the rest.
 */
final class ProductKeyer implements Processor<byte[], byte[], byte[], byte[]> {

  static final String SOURCE_TOPIC_HEADER = "lookalike.source.topic";
  static final String SOURCE_PARTITION_HEADER = "lookalike.source.partition";
  static final String SOURCE_OFFSET_HEADER = "lookalike.source.offset";

  private static final byte[] NO_KEY = new byte[0];

  private final ProductEventDecoder decoder;
  private ProcessorContext<byte[], byte[]> context;

  ProductKeyer(ProductEventDecoder decoder) {
    this.decoder = decoder;
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    String productId = decoder.productIdOrNull(record.value(), record.timestamp());
    byte[] key =
        productId != null
            ? productId.getBytes(StandardCharsets.UTF_8)
            : record.key() != null ? record.key() : NO_KEY;
    Headers headers = new RecordHeaders(record.headers().toArray());
    headers
        .remove(SOURCE_TOPIC_HEADER)
        .remove(SOURCE_PARTITION_HEADER)
        .remove(SOURCE_OFFSET_HEADER);
    RecordMetadata metadata = context.recordMetadata().orElse(null);
    if (metadata != null) {
      headers.add(SOURCE_TOPIC_HEADER, metadata.topic().getBytes(StandardCharsets.UTF_8));
      headers.add(
          SOURCE_PARTITION_HEADER,
          Integer.toString(metadata.partition()).getBytes(StandardCharsets.UTF_8));
      headers.add(
          SOURCE_OFFSET_HEADER, Long.toString(metadata.offset()).getBytes(StandardCharsets.UTF_8));
    }
    context.forward(record.withKey(key).withHeaders(headers));
  }
}
