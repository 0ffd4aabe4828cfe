package io.lookalike.indexer.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.lookalike.indexer.connect.LookalikeSinkConfig;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/compose checked without a container engine: compose.yaml against the Compose
 * Specification's JSON schema (vendored in deploy/compose/schema), and connect-sink.json against
 * the connector's ConfigDef.
 */
class ComposeFileTest {

  private static final Path COMPOSE = repo().resolve("deploy/compose");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void shouldFollowTheComposeSpecification() throws IOException {
    JsonSchema schema = schema();

    Set<ValidationMessage> errors = schema.validate(compose());

    assertThat(errors).isEmpty();
  }

  @Test
  void shouldRejectAFileThatBreaksTheSpecification() throws IOException {
    JsonSchema schema = schema();
    JsonNode broken =
        JSON.readTree(
            "{\"services\": {\"kafka\": {\"image\": \"apache/kafka\", \"restart\": 3,"
                + " \"helthcheck\": {}}}}");

    assertThat(schema.validate(broken)).isNotEmpty();
  }

  @Test
  void shouldPinEveryImageAndMountTheBuiltPlugin() throws IOException {
    JsonNode services = compose().get("services");
    for (Iterator<Map.Entry<String, JsonNode>> it = services.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> service = it.next();
      String image = service.getValue().get("image").asText();
      assertThat(image).as(service.getKey()).contains(":").doesNotEndWith(":latest");
    }
    assertThat(services.get("connect").get("volumes").toString())
        .contains(
            "indexer-sink/target/lookalike-indexer-sink-${LOOKALIKE_VERSION:-0.1.0-SNAPSHOT}-plugin/lookalike-indexer-sink");
    assertThat(
            services
                .get("embedder-gpu")
                .at("/deploy/resources/reservations/devices/0/capabilities/0")
                .asText())
        .isEqualTo("gpu");
  }

  @Test
  void shouldConfigureTheSinkWithSettingsItDefines() throws IOException {
    JsonNode sink = JSON.readTree(COMPOSE.resolve("connect-sink.json").toFile());
    Set<String> known = LookalikeSinkConfig.CONFIG_DEF.names();
    for (Iterator<String> it = sink.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      boolean connectOwn =
          key.equals("connector.class")
              || key.equals("tasks.max")
              || key.startsWith("topics")
              || key.endsWith(".converter")
              || key.startsWith("errors.")
              || key.startsWith("consumer.override.");
      assertThat(connectOwn || known.contains(key)).as(key).isTrue();
    }
    Map<String, String> config =
        JSON.convertValue(
            sink, JSON.getTypeFactory().constructMapType(Map.class, String.class, String.class));
    assertThat(new LookalikeSinkConfig(config).isLucene()).isFalse(); // parses with every validator
  }

  /** The vendored schema, loaded from its file so that its relative $id resolves. */
  private static JsonSchema schema() {
    return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
        .getSchema(COMPOSE.resolve("schema/compose-spec.json").toUri());
  }

  /** compose.yaml as JSON, anchors and merge keys resolved as an engine would. */
  private static JsonNode compose() throws IOException {
    try (Reader reader = Files.newBufferedReader(COMPOSE.resolve("compose.yaml"))) {
      Object yaml = new Yaml().load(reader);
      return JSON.valueToTree(yaml);
    }
  }

  private static Path repo() {
    String dir = System.getProperty("lookalike.repo.dir");
    return dir != null ? Path.of(dir) : Path.of("..").toAbsolutePath().normalize();
  }
}
