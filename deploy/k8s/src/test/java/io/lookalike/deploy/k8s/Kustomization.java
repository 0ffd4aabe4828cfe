package io.lookalike.deploy.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Renders a kustomization the way {@code kubectl kustomize} does, for the few fields deploy/k8s
 * uses (no kustomize library exists for the JVM): {@code resources} (files and directories), {@code
 * namespace}, {@code labels} (metadata only), {@code images} and {@code patches} by {@code path} as
 * strategic-merge patches. Anything else in a kustomization.yaml is refused, so that the file
 * cannot silently outgrow what is checked; {@code KubernetesManifestsTest} compares the result with
 * kubectl's where kubectl is installed.
 */
final class Kustomization {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> SUPPORTED =
      List.of("apiVersion", "kind", "resources", "namespace", "labels", "images", "patches");

  /** Merge keys of the lists the patches touch, as in the Kubernetes API's patchMergeKey. */
  private static final Map<String, String> MERGE_KEYS =
      Map.of(
          "containers",
          "name",
          "initContainers",
          "name",
          "env",
          "name",
          "volumes",
          "name",
          "volumeMounts",
          "mountPath",
          "ports",
          "containerPort");

  private Kustomization() {}

  /** The objects the kustomization in {@code dir} produces. */
  static List<ObjectNode> render(Path dir) {
    JsonNode k = readAll(dir.resolve("kustomization.yaml")).get(0);
    for (Iterator<String> it = k.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!SUPPORTED.contains(field)) {
        throw new IllegalArgumentException(
            dir + "/kustomization.yaml: " + field + " is not rendered by this test");
      }
    }
    List<ObjectNode> objects = new ArrayList<>();
    for (JsonNode resource : k.path("resources")) {
      Path path = dir.resolve(resource.asText()).normalize();
      if (Files.isDirectory(path)) {
        objects.addAll(render(path));
      } else {
        readAll(path).forEach(o -> objects.add((ObjectNode) o));
      }
    }
    for (JsonNode patch : k.path("patches")) {
      for (JsonNode p : readAll(dir.resolve(patch.get("path").asText()))) {
        ObjectNode target =
            objects.stream()
                .filter(o -> sameObject(o, p))
                .findFirst()
                .orElseThrow(
                    () -> new IllegalArgumentException("patch " + patch + " matches no resource"));
        merge(target, p);
      }
    }
    for (JsonNode labels : k.path("labels")) {
      if (labels.path("includeSelectors").asBoolean(false)
          || labels.path("includeTemplates").asBoolean(false)) {
        throw new IllegalArgumentException(
            "labels with selectors or templates are not rendered by this test");
      }
      for (ObjectNode o : objects) {
        ((ObjectNode) o.with("metadata")).with("labels").setAll((ObjectNode) labels.get("pairs"));
      }
    }
    for (JsonNode image : k.path("images")) {
      objects.forEach(o -> setImage(o, image));
    }
    if (k.has("namespace")) {
      objects.forEach(o -> o.with("metadata").put("namespace", k.get("namespace").asText()));
    }
    return objects;
  }

  static List<JsonNode> readAll(Path file) {
    try (Reader reader = Files.newBufferedReader(file)) {
      List<JsonNode> docs = new ArrayList<>();
      for (Object doc : new Yaml(new LoaderOptions()).loadAll(reader)) {
        if (doc != null) {
          docs.add(JSON.valueToTree(doc));
        }
      }
      return docs;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean sameObject(JsonNode a, JsonNode b) {
    return a.path("kind").equals(b.path("kind"))
        && a.path("apiVersion").equals(b.path("apiVersion"))
        && a.at("/metadata/name").equals(b.at("/metadata/name"));
  }

  /**
   * Strategic merge: maps recursively, lists of {@link #MERGE_KEYS} by their key, any other list
   * replaced.
   */
  private static void merge(ObjectNode target, JsonNode patch) {
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      JsonNode current = target.get(field.getKey());
      JsonNode value = field.getValue();
      String mergeKey = MERGE_KEYS.get(field.getKey());
      if (current instanceof ObjectNode object && value.isObject()) {
        merge(object, value);
      } else if (current instanceof ArrayNode list && value.isArray() && mergeKey != null) {
        for (JsonNode item : value) {
          JsonNode match = null;
          for (JsonNode existing : list) {
            if (existing.path(mergeKey).equals(item.path(mergeKey))) {
              match = existing;
            }
          }
          if (match instanceof ObjectNode object) {
            merge(object, item);
          } else {
            list.add(item.deepCopy());
          }
        }
      } else {
        target.set(field.getKey(), value.deepCopy());
      }
    }
  }

  private static void setImage(JsonNode node, JsonNode image) {
    if (node.isObject()) {
      for (String list : List.of("containers", "initContainers")) {
        for (JsonNode container : node.path(list)) {
          String current = container.path("image").asText();
          String name = current.replaceFirst("[:@].*$", "");
          if (name.equals(image.get("name").asText())) {
            String newName = image.path("newName").asText(name);
            String tag =
                image.has("newTag")
                    ? ":" + image.get("newTag").asText()
                    : current.substring(name.length());
            ((ObjectNode) container).put("image", newName + tag);
          }
        }
      }
      node.elements().forEachRemaining(child -> setImage(child, image));
    } else if (node.isArray()) {
      node.elements().forEachRemaining(child -> setImage(child, image));
    }
  }
}
