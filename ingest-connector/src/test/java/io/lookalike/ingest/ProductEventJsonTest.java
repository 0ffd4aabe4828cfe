package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one JSON reader of the webhook, the feeds and Kafka. */
class ProductEventJsonTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ProductEventJson.Rules RULES =
      new ProductEventJson.Rules(null, false, () -> 42L);

  private static ProductEvent read(String json, ProductEventJson.Rules rules) throws Exception {
    return ProductEventJson.read(JSON.readTree(json), rules);
  }

  @Test
  void shouldReadTheWebhookShapeAndTheFeedShapeAsTheSameEvent() throws Exception {
    ProductEvent nested =
        read(
            "{\"eventId\":\"e1\",\"productId\":\"p1\",\"version\":3,\"occurredAt\":1000,"
                + "\"product\":{\"title\":\"Red dress\",\"price\":{\"amount\":49.9,\"currency\":\"eur\"},\"availability\":\"in stock\"},"
                + "\"images\":[{\"imageId\":\"0\",\"url\":\"https://127.0.0.1/a.jpg\",\"position\":0}]}",
            RULES);
    ProductEvent flat =
        read(
            "{\"eventId\":\"e1\",\"productId\":\"p1\",\"version\":\"3\",\"occurredAt\":\"1000\","
                + "\"title\":\"Red dress\",\"price\":\"49.9\",\"currency\":\"EUR\",\"availability\":\"IN_STOCK\","
                + "\"image\":\"https://127.0.0.1/a.jpg\"}",
            RULES);

    assertThat(flat).isEqualTo(nested);
    assertThat(nested.getProduct().getPrice().getCurrency()).isEqualTo("EUR");
  }

  @Test
  void shouldDefaultVersionToOccurredAtInEpochMillis() throws Exception {
    ProductEvent given =
        read("{\"productId\":\"p1\",\"occurredAt\":\"2026-01-02T03:04:05Z\"}", RULES);
    ProductEvent defaulted = read("{\"productId\":\"p1\"}", RULES);

    assertThat(given.getVersion()).isEqualTo(Instant.parse("2026-01-02T03:04:05Z").toEpochMilli());
    assertThat(defaulted.getVersion()).isEqualTo(42L);
    assertThat(defaulted.getOccurredAt()).isEqualTo(Instant.ofEpochMilli(42));
    assertThat(defaulted.getType()).isEqualTo(EventType.UPSERT);
    assertThat(defaulted.getEventId()).isEqualTo("p1:42");
  }

  @Test
  void shouldRefuseFileUrlsUnlessAllowed() throws Exception {
    String json = "{\"productId\":\"p1\",\"images\":[{\"url\":\"file:///data/a.jpg\"}]}";

    assertThatThrownBy(() -> read(json, RULES))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("images[0].url")
        .hasMessageContaining("image.fetch.allow.file");
    assertThat(read(json, RULES.withFileUrls(true)).getImages().get(0).getUrl())
        .isEqualTo("file:///data/a.jpg");
  }

  @Test
  void shouldResolveRelativeImagePathsOnlyWhereTheWayInHasALocation() throws Exception {
    String json = "{\"productId\":\"p1\",\"image\":\"images/a.jpg\"}";
    ProductEventJson.Rules feed =
        new ProductEventJson.Rules(u -> "file:///feeds/" + u, true, () -> 1L);

    assertThat(read(json, feed).getImages().get(0).getUrl())
        .isEqualTo("file:///feeds/images/a.jpg");
    assertThatThrownBy(() -> read(json, RULES))
        .hasMessageContaining("must be an absolute http(s) URL");
  }

  @Test
  void shouldCollectEveryFieldError() throws Exception {
    List<ProductEventJson.FieldError> errors = new ArrayList<>();
    ProductEvent event =
        ProductEventJson.read(
            JSON.readTree(
                "{\"type\":\"MOVE\",\"version\":-2,\"price\":10,\"images\":[{\"imageId\":\"a/b\",\"url\":\"ftp://x\"}]}"),
            "[3]",
            errors,
            RULES);

    assertThat(event).isNull();
    assertThat(errors)
        .extracting(ProductEventJson.FieldError::field)
        .containsExactlyInAnyOrder(
            "[3].productId",
            "[3].type",
            "[3].version",
            "[3].currency",
            "[3].images[0].imageId",
            "[3].images[0].url");
  }
}
