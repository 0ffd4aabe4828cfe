package io.lookalike.deploy.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The schemas a manifest is checked against, by apiVersion and kind: the Kubernetes API's own (the
 * subset vendored in deploy/k8s/schema/kubernetes-definitions.json) and the openAPIV3Schema of the
 * vendored Strimzi and KEDA CRDs. Both are made strict as {@code kubectl apply --validate=strict}
 * is: a field the schema does not name is an error, except where the schema preserves unknown
 * fields (e.g. a connector's {@code config}).
 */
final class ManifestSchemas {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4);
  private static final String INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
  private static final String QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";

  private final Map<String, JsonSchema> byKind = new HashMap<>();

  ManifestSchemas(Path schemaDir) {
    ObjectNode kubernetes = read(schemaDir.resolve("kubernetes-definitions.json"));
    ObjectNode definitions = (ObjectNode) kubernetes.get("definitions");
    // The API server takes either form for these (OpenAPI v2 types them as strings with a format).
    definitions.set(INT_OR_STRING, anyOf("string", "integer"));
    definitions.set(QUANTITY, anyOf("string", "number"));
    strict(definitions);
    for (Iterator<Map.Entry<String, JsonNode>> it = definitions.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> definition = it.next();
      for (JsonNode gvk : definition.getValue().path("x-kubernetes-group-version-kind")) {
        String group = gvk.get("group").asText();
        String apiVersion =
            group.isEmpty()
                ? gvk.get("version").asText()
                : group + "/" + gvk.get("version").asText();
        ObjectNode schema = JSON.createObjectNode();
        schema.put("$ref", "#/definitions/" + definition.getKey());
        schema.set("definitions", definitions);
        byKind.put(apiVersion + " " + gvk.get("kind").asText(), FACTORY.getSchema(schema));
      }
    }
    for (String crd :
        new String[] {
          "strimzi-kafkaconnect-crd.yaml",
          "strimzi-kafkaconnector-crd.yaml",
          "keda-scaledobject-crd.yaml"
        }) {
      JsonNode definition = Kustomization.readAll(schemaDir.resolve(crd)).get(0);
      String group = definition.at("/spec/group").asText();
      String kind = definition.at("/spec/names/kind").asText();
      for (JsonNode version : definition.at("/spec/versions")) {
        if (version.path("served").asBoolean()) {
          ObjectNode schema = version.at("/schema/openAPIV3Schema").deepCopy();
          strict(schema);
          byKind.put(
              group + "/" + version.get("name").asText() + " " + kind, FACTORY.getSchema(schema));
        }
      }
    }
  }

  /** What is wrong with {@code object}, as the validator words it; empty when it is valid. */
  Set<String> validate(JsonNode object) {
    String key = object.path("apiVersion").asText() + " " + object.path("kind").asText();
    JsonSchema schema = byKind.get(key);
    if (schema == null) {
      return Set.of("no schema for " + key + " (known: " + new TreeSet<>(byKind.keySet()) + ")");
    }
    Set<String> errors = new TreeSet<>();
    for (ValidationMessage message : schema.validate(object)) {
      errors.add(message.getMessage());
    }
    if (!object.at("/metadata/name").isTextual()) {
      errors.add("metadata.name is missing");
    }
    return errors;
  }

  Set<String> kinds() {
    return new TreeSet<>(byKind.keySet());
  }

  /**
   * additionalProperties: false wherever properties are listed and unknown fields are not
   * preserved.
   */
  private static void strict(JsonNode node) {
    if (node instanceof ObjectNode object) {
      if (object.has("properties")
          && object.get("properties").isObject()
          && !object.has("additionalProperties")
          && !object.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)) {
        object.put("additionalProperties", false);
      }
      object.elements().forEachRemaining(ManifestSchemas::strict);
    } else if (node instanceof ArrayNode array) {
      array.elements().forEachRemaining(ManifestSchemas::strict);
    }
  }

  private static ObjectNode anyOf(String... types) {
    ObjectNode node = JSON.createObjectNode();
    ArrayNode anyOf = node.putArray("anyOf");
    for (String type : types) {
      anyOf.addObject().put("type", type);
    }
    return node;
  }

  private static ObjectNode read(Path file) {
    try {
      return (ObjectNode) JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
