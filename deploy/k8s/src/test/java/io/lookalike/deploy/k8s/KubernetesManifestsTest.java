package io.lookalike.deploy.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.indexer.connect.LookalikeSinkConfig;
import io.lookalike.ingest.connect.CatalogFeedConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * deploy/k8s checked without a cluster: each overlay rendered, every object valid against the
 * vendored schemas of the Kubernetes API and of the Strimzi and KEDA CRDs, and the rules an
 * operator relies on (probes on /health, requests, disruption budgets, autoscaling, the GPU
 * overlay's resources) hold.
 */
class KubernetesManifestsTest {

  private static final Path K8S = repo().resolve("deploy/k8s");
  private static final ManifestSchemas SCHEMAS = new ManifestSchemas(K8S.resolve("schema"));
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest
  @ValueSource(strings = {"overlays/cpu", "overlays/gpu"})
  void shouldRenderOnlyObjectsTheirSchemasAccept(String overlay) {
    List<ObjectNode> objects = Kustomization.render(K8S.resolve(overlay));

    Map<String, Set<String>> errors = new TreeMap<>();
    for (ObjectNode object : objects) {
      Set<String> wrong = SCHEMAS.validate(object);
      if (!wrong.isEmpty()) {
        errors.put(id(object), wrong);
      }
    }

    assertThat(errors).isEmpty();
    assertThat(objects)
        .extracting(o -> o.at("/metadata/namespace").asText())
        .containsOnly("lookalike");
  }

  @Test
  void shouldRejectAnUnknownFieldAWrongTypeAndAMissingRequiredField() {
    ObjectNode deployment =
        find(render("overlays/cpu"), "Deployment", "lookalike-gateway").deepCopy();
    ((ObjectNode) deployment.at("/spec/template/spec/containers/0"))
        .put("imagePullPolice", "Always");
    ObjectNode scaled =
        find(render("overlays/cpu"), "ScaledObject", "lookalike-embedder").deepCopy();
    ((ObjectNode) scaled.get("spec")).put("maxReplicaCount", "twelve");
    ObjectNode connect =
        find(render("overlays/cpu"), "KafkaConnect", "lookalike-connect").deepCopy();
    ((ObjectNode) connect.get("spec")).remove("groupId");

    assertThat(SCHEMAS.validate(deployment)).anyMatch(m -> m.contains("imagePullPolice"));
    assertThat(SCHEMAS.validate(scaled)).anyMatch(m -> m.contains("maxReplicaCount"));
    assertThat(SCHEMAS.validate(connect)).anyMatch(m -> m.contains("groupId"));
  }

  @Test
  void shouldProbeHealthOnADeclaredPortAndRequestResourcesInEveryStage() {
    for (ObjectNode workload : workloads(render("overlays/cpu"))) {
      JsonNode pod = workload.at("/spec/template/spec");
      assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).as(id(workload)).isTrue();
      for (JsonNode container : pod.get("containers")) {
        List<String> ports = new ArrayList<>();
        container.path("ports").forEach(p -> ports.add(p.get("name").asText()));
        // Ready = /health; alive = /health, or (the gateway, which waits on a fresh cluster with
        // /health DOWN) its HTTP port answering
        assertThat(container.at("/readinessProbe/httpGet/path").asText())
            .as(id(workload) + " readinessProbe")
            .isEqualTo("/health");
        for (String probe : List.of("readinessProbe", "livenessProbe")) {
          JsonNode check = container.at("/" + probe);
          JsonNode port =
              check.has("tcpSocket") ? check.at("/tcpSocket/port") : check.at("/httpGet/port");
          if (!check.has("tcpSocket")) {
            assertThat(check.at("/httpGet/path").asText())
                .as(id(workload) + " " + probe)
                .isEqualTo("/health");
          }
          assertThat(ports).as(id(workload) + " " + probe).contains(port.asText());
        }
        assertThat(container.at("/resources/requests/cpu").isMissingNode())
            .as(id(workload))
            .isFalse();
        assertThat(container.at("/resources/requests/memory").isMissingNode())
            .as(id(workload))
            .isFalse();
        assertThat(container.at("/resources/limits/memory").isMissingNode())
            .as(id(workload))
            .isFalse();
      }
    }
  }

  @Test
  void shouldGuardEveryStageWithADisruptionBudgetAndScrapeItsMetrics() {
    List<ObjectNode> objects = render("overlays/cpu");
    for (ObjectNode workload : workloads(objects)) {
      JsonNode labels = workload.at("/spec/template/metadata/labels");
      assertThat(objects)
          .as(id(workload))
          .anyMatch(
              o ->
                  o.path("kind").asText().equals("PodDisruptionBudget")
                      && selects(o.at("/spec/selector/matchLabels"), labels));
      JsonNode annotations = workload.at("/spec/template/metadata/annotations");
      assertThat(annotations.path("prometheus.io/scrape").asText())
          .as(id(workload))
          .isEqualTo("true");
      assertThat(annotations.path("prometheus.io/path").asText())
          .as(id(workload))
          .isEqualTo("/metrics");
      int port = annotations.path("prometheus.io/port").asInt();
      assertThat(workload.at("/spec/template/spec/containers/0/ports").findValues("containerPort"))
          .as(id(workload))
          .extracting(JsonNode::asInt)
          .contains(port);
    }
  }

  @Test
  void shouldServeAndScaleTheWebhookAndTheGatewayOnCpu() {
    List<ObjectNode> objects = render("overlays/cpu");
    for (String name : List.of("lookalike-webhook", "lookalike-gateway")) {
      ObjectNode deployment = find(objects, "Deployment", name);
      assertThat(objects)
          .as(name)
          .anyMatch(
              o ->
                  o.path("kind").asText().equals("Service")
                      && selects(
                          o.at("/spec/selector"), deployment.at("/spec/template/metadata/labels")));
      ObjectNode hpa = find(objects, "HorizontalPodAutoscaler", name);
      assertThat(hpa.at("/spec/scaleTargetRef/name").asText()).isEqualTo(name);
      assertThat(hpa.at("/spec/metrics/0/resource/name").asText()).isEqualTo("cpu");
      assertThat(hpa.at("/spec/minReplicas").asInt()).isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void shouldScaleTheEmbedderOnItsConsumerGroupsLag() {
    List<ObjectNode> objects = render("overlays/cpu");
    ObjectNode scaled = find(objects, "ScaledObject", "lookalike-embedder");
    ObjectNode embedder = find(objects, "StatefulSet", "lookalike-embedder");

    assertThat(scaled.at("/spec/scaleTargetRef/kind").asText()).isEqualTo("StatefulSet");
    assertThat(scaled.at("/spec/scaleTargetRef/name").asText())
        .isEqualTo(embedder.at("/metadata/name").asText());
    JsonNode trigger = scaled.at("/spec/triggers/0");
    assertThat(trigger.get("type").asText()).isEqualTo("kafka");
    assertThat(trigger.at("/metadata/topic").asText()).isEqualTo("catalog.product-images");
    assertThat(trigger.at("/metadata/consumerGroup").asText()).startsWith("lookalike-embedder-");
    // More instances than partitions would idle.
    assertThat(scaled.at("/spec/maxReplicaCount").asInt())
        .isLessThanOrEqualTo(partitions(embedder));
  }

  @Test
  void shouldPutTheEmbedderOnGpuNodesWithBiggerBatchesInTheGpuOverlay() {
    ObjectNode cpu = find(render("overlays/cpu"), "StatefulSet", "lookalike-embedder");
    ObjectNode gpu = find(render("overlays/gpu"), "StatefulSet", "lookalike-embedder");

    JsonNode container = gpu.at("/spec/template/spec/containers/0");
    assertThat(container.at("/resources/limits/nvidia.com~1gpu").asInt()).isEqualTo(1);
    assertThat(container.get("image").asText()).startsWith("lookalike-gpu:");
    assertThat(gpu.at("/spec/template/spec/nodeSelector").size()).isPositive();
    assertThat(gpu.at("/spec/template/spec/tolerations").findValuesAsText("key"))
        .contains("nvidia.com/gpu");
    assertThat(batch(gpu)).isGreaterThan(batch(cpu));
    assertThat(container.get("args"))
        .contains(JSON.getNodeFactory().textNode("-Dembed.batch.max.size=$(EMBED_BATCH_MAX_SIZE)"));
    // Only the embedder moves: the other stages are the same as on CPU.
    assertThat(find(render("overlays/gpu"), "Deployment", "lookalike-gateway"))
        .isEqualTo(find(render("overlays/cpu"), "Deployment", "lookalike-gateway"));
  }

  @Test
  void shouldBuildOurPluginsIntoConnectAndConfigureTheConnectorsWithSettingsTheyDefine()
      throws Exception {
    List<ObjectNode> objects = render("overlays/cpu");
    ObjectNode connect = find(objects, "KafkaConnect", "lookalike-connect");
    assertThat(connect.at("/spec/build/plugins").findValuesAsText("name"))
        .containsExactlyInAnyOrder("lookalike-indexer-sink", "lookalike-catalog-feed-connector");
    assertThat(connect.at("/spec/build/plugins").findValuesAsText("type")).containsOnly("zip");

    ObjectNode sink = find(objects, "KafkaConnector", "lookalike-sink");
    ObjectNode source = find(objects, "KafkaConnector", "lookalike-catalog-feed");
    for (ObjectNode connector : List.of(sink, source)) {
      assertThat(connector.at("/metadata/labels/strimzi.io~1cluster").asText())
          .isEqualTo("lookalike-connect");
      assertThat(Class.forName(connector.at("/spec/class").asText())).isNotNull();
    }
    Map<String, String> sinkConfig = config(sink, LookalikeSinkConfig.CONFIG_DEF);
    assertThat(new LookalikeSinkConfig(sinkConfig).isLucene()).isFalse();
    Map<String, String> sourceConfig = config(source, CatalogFeedConfig.CONFIG_DEF);
    assertThat(new CatalogFeedConfig(sourceConfig).originals())
        .containsKey(CatalogFeedConfig.URL_CONFIG);
  }

  /**
   * The renderer here must agree with kustomize itself: checked where kubectl is installed (it is
   * not in CI's image).
   */
  @ParameterizedTest
  @ValueSource(strings = {"overlays/cpu", "overlays/gpu"})
  void shouldRenderAsKubectlKustomizeDoes(String overlay) throws Exception {
    Path kubectl =
        Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
            .map(dir -> Path.of(dir, "kubectl"))
            .filter(Files::isExecutable)
            .findFirst()
            .orElse(null);
    assumeThat(kubectl).as("kubectl on PATH").isNotNull();
    Process process =
        new ProcessBuilder(kubectl.toString(), "kustomize", K8S.resolve(overlay).toString())
            .redirectErrorStream(false)
            .start();
    byte[] out = process.getInputStream().readAllBytes();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue())
        .as(new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8))
        .isZero();
    Path rendered = Files.createTempFile("kustomize", ".yaml");
    Files.write(rendered, out);

    Map<String, JsonNode> theirs = byId(Kustomization.readAll(rendered));
    Map<String, JsonNode> ours = byId(new ArrayList<>(Kustomization.render(K8S.resolve(overlay))));

    assertThat(ours).isEqualTo(theirs);
  }

  // --- helpers ---

  private static List<ObjectNode> render(String overlay) {
    return Kustomization.render(K8S.resolve(overlay));
  }

  private static List<ObjectNode> workloads(List<ObjectNode> objects) {
    return objects.stream()
        .filter(o -> Set.of("Deployment", "StatefulSet").contains(o.path("kind").asText()))
        .toList();
  }

  private static ObjectNode find(List<ObjectNode> objects, String kind, String name) {
    return objects.stream()
        .filter(
            o ->
                o.path("kind").asText().equals(kind)
                    && o.at("/metadata/name").asText().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  private static boolean selects(JsonNode selector, JsonNode labels) {
    if (!selector.isObject() || selector.isEmpty()) {
      return false;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = selector.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (!entry.getValue().equals(labels.get(entry.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static int partitions(ObjectNode workload) {
    List<String> args = new ArrayList<>();
    workload.at("/spec/template/spec/containers/0/args").forEach(a -> args.add(a.asText()));
    return Integer.parseInt(args.get(args.indexOf("--partitions") + 1));
  }

  private static int batch(ObjectNode embedder) {
    for (JsonNode env : embedder.at("/spec/template/spec/containers/0/env")) {
      if (env.get("name").asText().equals("EMBED_BATCH_MAX_SIZE")) {
        return env.get("value").asInt();
      }
    }
    throw new AssertionError("no EMBED_BATCH_MAX_SIZE");
  }

  /**
   * A connector's config as Connect passes it (strings), after checking each key is Connect's own
   * or the connector's.
   */
  private static Map<String, String> config(ObjectNode connector, ConfigDef definition) {
    Map<String, String> config = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = connector.at("/spec/config").fields();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String key = entry.getKey();
      boolean connectOwn =
          key.startsWith("topics")
              || key.endsWith(".converter")
              || key.startsWith("errors.")
              || key.startsWith("consumer.override.")
              || key.equals("exactly.once.support");
      assertThat(connectOwn || definition.names().contains(key))
          .as(id(connector) + " " + key)
          .isTrue();
      config.put(key, entry.getValue().asText());
    }
    return config;
  }

  private static Map<String, JsonNode> byId(List<? extends JsonNode> objects) {
    Map<String, JsonNode> byId = new TreeMap<>();
    objects.forEach(o -> byId.put(id(o), o));
    return byId;
  }

  private static String id(JsonNode o) {
    return o.path("kind").asText() + "/" + o.at("/metadata/name").asText();
  }

  private static Path repo() {
    String dir = System.getProperty("lookalike.repo.dir");
    return dir != null ? Path.of(dir) : Path.of("../..").toAbsolutePath().normalize();
  }
}
