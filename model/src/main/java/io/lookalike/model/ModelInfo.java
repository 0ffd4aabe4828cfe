package io.lookalike.model;

import java.util.regex.Pattern;

/**
 * The identity of an embedding model. {@code modelId} is the model's name plus a short hash of its
 * weights, in lowercase letters, digits and '_' only (e.g. {@code mobilenet_v2_3f9a1c2e}), so it
 * can be used unchanged in Kafka topic names and Milvus collection names.
 */
public record ModelInfo(String modelId, String name, int dimension) {

  private static final Pattern MODEL_ID = Pattern.compile("[a-z][a-z0-9_]{0,199}");

  public ModelInfo {
    if (modelId == null || !MODEL_ID.matcher(modelId).matches()) {
      throw new IllegalArgumentException(
          "modelId must be lowercase letters, digits and '_' starting with a letter: " + modelId);
    }
    if (dimension <= 0) {
      throw new IllegalArgumentException("dimension must be positive: " + dimension);
    }
  }

  /** Builds the id from a free-form name and the hex digest of the weights. */
  public static String modelId(String name, String weightsSha256Hex) {
    String clean =
        name.toLowerCase(java.util.Locale.ROOT)
            .replaceAll("[^a-z0-9]+", "_")
            .replaceAll("^_+|_+$", "");
    if (clean.isEmpty() || !Character.isLetter(clean.charAt(0))) {
      clean = "m_" + clean;
    }
    return clean + "_" + weightsSha256Hex.substring(0, 8).toLowerCase(java.util.Locale.ROOT);
  }
}
