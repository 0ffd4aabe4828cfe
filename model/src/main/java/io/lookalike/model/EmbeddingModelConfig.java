package io.lookalike.model;

import io.lookalike.image.ImageSafetyConfig;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/** Which TorchScript image model to load and how to preprocess its input. */
public record EmbeddingModelConfig(
    String url,
    String name,
    int inputSizePx,
    int resizePx,
    float[] mean,
    float[] std,
    int batchMaxSize,
    long maxPixels) {

  public static final String URL_CONFIG = "model.url";
  public static final String URL_DOC =
      "Where the TorchScript model is: a file or directory path, or any URL DJL "
          + "Criteria accepts (file:, https:, djl://, s3:). Empty: the bundled MobileNetV2 feature extractor.";
  public static final String NAME_CONFIG = "model.name";
  public static final String NAME_DOC =
      "Model name, the first part of the modelId. Empty: the file name without "
          + "extension. For a directory, the name of the .pt file inside it.";
  public static final String INPUT_SIZE_CONFIG = "model.input.size.px";
  public static final String INPUT_SIZE_DOC =
      "Side of the square centre crop fed to the model, in pixels.";
  public static final String RESIZE_CONFIG = "model.resize.px";
  public static final String RESIZE_DOC =
      "The short side of the image is resized to this before the centre crop.";
  public static final String MEAN_CONFIG = "model.normalize.mean";
  public static final String MEAN_DOC =
      "Per-channel (R,G,B) mean subtracted from pixel values scaled to [0, 1].";
  public static final String STD_CONFIG = "model.normalize.std";
  public static final String STD_DOC =
      "Per-channel (R,G,B) standard deviation the centred values are divided by.";

  /**
   * The one batch-size key: the embedder app buffers up to this many images, and a forward pass
   * takes at most this many.
   */
  public static final String BATCH_MAX_SIZE_CONFIG = "embed.batch.max.size";

  public static final String BATCH_MAX_SIZE_DOC =
      "Most images in one forward pass: the embedder runs inference as soon "
          + "as this many images are buffered, and any longer list (the quality gate's) is split into passes of this size. "
          + "8 suits a CPU (bigger batches were slower there: 85 images/s at 8, 55 at 32 on 2 cores); raise it to 32-128 on a GPU.";

  private static final String IMAGENET_MEAN = "0.485,0.456,0.406";
  private static final String IMAGENET_STD = "0.229,0.224,0.225";

  public static final ConfigDef CONFIG_DEF =
      new ConfigDef()
          .define(URL_CONFIG, Type.STRING, "", Importance.HIGH, URL_DOC)
          .define(NAME_CONFIG, Type.STRING, "", Importance.MEDIUM, NAME_DOC)
          .define(
              INPUT_SIZE_CONFIG,
              Type.INT,
              224,
              ConfigDef.Range.between(8, 4096),
              Importance.MEDIUM,
              INPUT_SIZE_DOC)
          .define(
              RESIZE_CONFIG,
              Type.INT,
              256,
              ConfigDef.Range.between(8, 4096),
              Importance.MEDIUM,
              RESIZE_DOC)
          .define(MEAN_CONFIG, Type.LIST, IMAGENET_MEAN, Importance.MEDIUM, MEAN_DOC)
          .define(STD_CONFIG, Type.LIST, IMAGENET_STD, Importance.MEDIUM, STD_DOC)
          .define(
              BATCH_MAX_SIZE_CONFIG,
              Type.INT,
              8,
              ConfigDef.Range.between(1, 10_000),
              Importance.MEDIUM,
              BATCH_MAX_SIZE_DOC);

  public EmbeddingModelConfig {
    url = url == null ? "" : url.trim();
    name = name == null ? "" : name.trim();
    if (resizePx < inputSizePx) {
      throw new ConfigException(
          RESIZE_CONFIG,
          resizePx,
          "must be at least " + INPUT_SIZE_CONFIG + " (" + inputSizePx + ")");
    }
    check(MEAN_CONFIG, mean);
    check(STD_CONFIG, std);
    if (maxPixels < 1) {
      throw new ConfigException(
          ImageSafetyConfig.MAX_PIXELS_CONFIG, maxPixels, "must be at least 1");
    }
    for (float s : std) {
      if (!(s > 0)) {
        throw new ConfigException(STD_CONFIG, java.util.Arrays.toString(std), "must be positive");
      }
    }
  }

  /** The bundled default model with its ImageNet preprocessing. */
  public static EmbeddingModelConfig defaults() {
    return from(Map.of());
  }

  /**
   * The model at {@code url} (empty or null: the bundled default) with the default preprocessing.
   */
  public static EmbeddingModelConfig of(String url) {
    return defaults().withUrl(url);
  }

  /**
   * Reads and validates the {@code model.*} keys and {@code image.max.pixels} (the image-safety
   * limit, so that the embedder refuses what the fetcher and the gateway refuse); unknown keys are
   * ignored.
   */
  public static EmbeddingModelConfig from(Map<?, ?> props) {
    AbstractConfig c = new AbstractConfig(CONFIG_DEF, props, false);
    return new EmbeddingModelConfig(
        c.getString(URL_CONFIG),
        c.getString(NAME_CONFIG),
        c.getInt(INPUT_SIZE_CONFIG),
        c.getInt(RESIZE_CONFIG),
        floats(MEAN_CONFIG, c.getList(MEAN_CONFIG)),
        floats(STD_CONFIG, c.getList(STD_CONFIG)),
        c.getInt(BATCH_MAX_SIZE_CONFIG),
        new ImageSafetyConfig(props).getLong(ImageSafetyConfig.MAX_PIXELS_CONFIG));
  }

  /** A copy that loads another model with the same preprocessing. */
  public EmbeddingModelConfig withUrl(String newUrl) {
    return new EmbeddingModelConfig(
        newUrl, name, inputSizePx, resizePx, mean, std, batchMaxSize, maxPixels);
  }

  public boolean isDefaultModel() {
    return url.isEmpty();
  }

  private static float[] floats(String key, List<String> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      try {
        out[i] = Float.parseFloat(values.get(i).trim());
      } catch (NumberFormatException e) {
        throw new ConfigException(key, String.join(",", values), "not a list of numbers");
      }
    }
    return out;
  }

  private static void check(String key, float[] values) {
    if (values == null || values.length != 3) {
      throw new ConfigException(
          key,
          values == null ? null : java.util.Arrays.toString(values),
          "must be three numbers (R,G,B)");
    }
  }
}
