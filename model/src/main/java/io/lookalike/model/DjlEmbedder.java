package io.lookalike.model;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.modality.cv.BufferedImageFactory;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.modality.cv.transform.CenterCrop;
import ai.djl.modality.cv.transform.Normalize;
import ai.djl.modality.cv.transform.ResizeShort;
import ai.djl.modality.cv.transform.ToTensor;
import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.Pipeline;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import ai.djl.util.Utils;
import io.lookalike.image.RejectedImageException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link Embedder} running a TorchScript image model with DJL on the PyTorch engine (GPU when
 * present, CPU otherwise). Thread-safe: images are decoded in the caller's thread, then one shared
 * {@link Predictor} runs under a lock — PyTorch already spreads one forward pass over all cores, so
 * a second predictor would only compete for them.
 */
public final class DjlEmbedder implements Embedder {

  public static final String REASON_UNDECODABLE = "undecodable_image";

  /** More pixels than {@code image.max.pixels}: the code the fetcher and the gateway use too. */
  public static final String REASON_TOO_MANY_PIXELS = RejectedImageException.TOO_MANY_PIXELS;

  public static final String REASON_INFERENCE = "inference_failed";

  /** The model gave a vector that cannot be searched: NaN, infinite, or all zero. */
  public static final String REASON_DEGENERATE = "degenerate_embedding";

  /** Where the bundled default model lies on the classpath. */
  static final String DEFAULT_MODEL_RESOURCE =
      "lookalike/models/mobilenet_v2_features/mobilenet_v2_features.pt";

  static final String DEFAULT_MODEL_NAME = "mobilenet_v2_features";

  private static final Logger log = LoggerFactory.getLogger(DjlEmbedder.class);
  private static final Pattern URL_SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]+:.*");

  private final ZooModel<Image, float[]> model;
  private final Predictor<Image, float[]> predictor;
  private final ReentrantLock predictorLock = new ReentrantLock();
  private final ImageFactory images = new BufferedImageFactory();
  private final ModelInfo info;
  private final int batchMaxSize;
  private final AtomicBoolean firstBatchSeen = new AtomicBoolean();
  private volatile String brokenReason;
  private volatile Consumer<String> onBroken = reason -> {};

  /**
   * Decoding more pixels than this ({@code image.max.pixels}) would take gigabytes: refused from
   * the header alone.
   */
  private final long maxPixels;

  private DjlEmbedder(
      ZooModel<Image, float[]> model,
      String name,
      String weightsSha256,
      EmbeddingModelConfig config) {
    this.model = model;
    this.predictor = model.newPredictor();
    this.batchMaxSize = config.batchMaxSize();
    this.maxPixels = config.maxPixels();
    BufferedImage blank =
        new BufferedImage(config.inputSizePx(), config.inputSizePx(), BufferedImage.TYPE_INT_RGB);
    int dimension;
    float[] probe;
    try {
      probe = predictor.predict(images.fromImage(blank));
      dimension = probe.length;
    } catch (TranslateException e) {
      close();
      throw new IllegalStateException(
          "Model " + name + " fails on a blank " + config.inputSizePx() + " px image", e);
    }
    if (!isFinite(probe)) {
      close();
      throw new BadModelOutputException(
          "the model outputs NaN or infinity (on a blank "
              + config.inputSizePx()
              + " px image): its vectors cannot be searched");
    }
    this.info = new ModelInfo(ModelInfo.modelId(name, weightsSha256), name, dimension);
  }

  /** Loads the bundled MobileNetV2 feature extractor (1280-d); needs no network. */
  public static DjlEmbedder loadDefault() {
    return load(EmbeddingModelConfig.defaults());
  }

  /**
   * Loads the model at {@code url} (empty or null: the bundled default) with the preprocessing the
   * {@code model.*} keys of {@code settings} give: how a pipeline, a re-embed and a gateway load a
   * model by URL.
   *
   * @param name the model's name (null: the settings' {@code model.name}, else taken from the file)
   */
  public static DjlEmbedder load(String url, String name, Map<?, ?> settings) {
    EmbeddingModelConfig base = EmbeddingModelConfig.from(settings);
    return load(
        new EmbeddingModelConfig(
            url == null ? "" : url,
            name == null ? base.name() : name,
            base.inputSizePx(),
            base.resizePx(),
            base.mean(),
            base.std(),
            base.batchMaxSize(),
            base.maxPixels()));
  }

  /** Loads the model the config names; fails with the key and value when it cannot. */
  public static DjlEmbedder load(EmbeddingModelConfig config) {
    configureThreads();
    String url = config.isDefaultModel() ? bundledModel().toString() : config.url();
    Criteria.Builder<Image, float[]> criteria =
        Criteria.builder()
            .setTypes(Image.class, float[].class)
            .optEngine("PyTorch")
            .optOption("mapLocation", "true")
            .optTranslator(new ImageEmbeddingTranslator(config));
    String name;
    Path localFile = null;
    Path local = localPath(url);
    if (local != null) {
      // A directory plus a model name, not the file itself: DJL warns about a path to a file.
      Path dir = Files.isDirectory(local) ? local : local.getParent();
      String stem =
          Files.isDirectory(local)
              ? orElse(config.name(), local.getFileName().toString())
              : stem(local);
      criteria.optModelPath(dir).optModelName(stem);
      localFile = Files.isDirectory(local) ? null : local;
      name = orElse(config.name(), stem);
    } else {
      criteria.optModelUrls(url);
      if (!config.name().isEmpty()) {
        criteria.optModelName(config.name());
      }
      name = orElse(config.name(), stem(Path.of(URI.create(url).getPath()).getFileName()));
    }
    ZooModel<Image, float[]> model;
    try {
      model = criteria.build().loadModel();
    } catch (IOException | ModelNotFoundException | MalformedModelException | RuntimeException e) {
      throw new IllegalArgumentException(
          "Cannot load the model "
              + EmbeddingModelConfig.URL_CONFIG
              + "="
              + url
              + ": "
              + e.getMessage(),
          e);
    }
    try {
      Path weights = localFile != null ? localFile : weightsFile(model);
      DjlEmbedder embedder = new DjlEmbedder(model, name, sha256(weights), config);
      log.info(
          "Loaded model {} ({}-d) from {} on {}",
          embedder.info.modelId(),
          embedder.info.dimension(),
          url,
          model.getNDManager().getDevice());
      return embedder;
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  @Override
  public ModelInfo model() {
    return info;
  }

  @Override
  public List<EmbeddingResult> embed(List<byte[]> encoded) {
    EmbeddingResult[] results = new EmbeddingResult[encoded.size()];
    List<Image> decoded = new ArrayList<>(encoded.size());
    List<Integer> positions = new ArrayList<>(encoded.size());
    for (int i = 0; i < results.length; i++) {
      try {
        decoded.add(decode(encoded.get(i)));
        positions.add(i);
      } catch (ImageTooLargeException e) {
        results[i] = new EmbeddingResult.Failed(REASON_TOO_MANY_PIXELS, e.getMessage(), e);
      } catch (IOException | RuntimeException e) {
        results[i] =
            new EmbeddingResult.Failed(
                REASON_UNDECODABLE, "Cannot decode the image: " + e.getMessage(), e);
      }
    }
    int degenerate = 0;
    for (int from = 0; from < decoded.size(); from += batchMaxSize) {
      int to = Math.min(decoded.size(), from + batchMaxSize);
      List<EmbeddingResult> vectors = infer(decoded.subList(from, to));
      for (int j = from; j < to; j++) {
        EmbeddingResult result = vectors.get(j - from);
        if (result instanceof EmbeddingResult.Vector v && degeneracy(v.values()) != null) {
          result =
              new EmbeddingResult.Failed(
                  REASON_DEGENERATE, "The model output " + degeneracy(v.values()), null);
          degenerate++;
        }
        results[positions.get(j)] = result;
      }
    }
    if (!decoded.isEmpty() && firstBatchSeen.compareAndSet(false, true)) {
      if (degenerate == decoded.size()) {
        brokenReason =
            "its first batch gave no usable vector: all "
                + degenerate
                + " decoded images came out as NaN, infinity or all zeros";
        log.warn("Model {} is broken: {}", info.modelId(), brokenReason);
        onBroken.accept(brokenReason);
      }
    }
    return Arrays.asList(results);
  }

  /**
   * Why this model is unusable, judged on its first batch (every decoded image of it came out as
   * NaN, infinity or zeros); null while it looks sound.
   */
  public String brokenReason() {
    return brokenReason;
  }

  /**
   * Called once, from the embedding thread, when the first batch shows the model is broken (see
   * {@link #brokenReason()}); must not block.
   */
  public void onBroken(Consumer<String> listener) {
    this.onBroken = listener;
  }

  private static boolean isFinite(float[] v) {
    for (float x : v) {
      if (!Float.isFinite(x)) {
        return false;
      }
    }
    return true;
  }

  /** What is wrong with the vector ("NaN or infinity", "a zero vector"), or null. */
  private static String degeneracy(float[] v) {
    if (!isFinite(v)) {
      return "NaN or infinity";
    }
    for (float x : v) {
      if (x != 0) {
        return null;
      }
    }
    return "a zero vector";
  }

  @Override
  public void close() {
    predictor.close();
    model.close();
  }

  /**
   * One forward pass; if the batch fails as a whole, each image alone, so one bad image fails only
   * itself.
   */
  private List<EmbeddingResult> infer(List<Image> batch) {
    try {
      List<float[]> vectors = predict(batch);
      return vectors.stream().<EmbeddingResult>map(EmbeddingResult.Vector::new).toList();
    } catch (TranslateException | RuntimeException e) {
      if (batch.size() == 1) {
        return List.of(
            new EmbeddingResult.Failed(REASON_INFERENCE, "Inference failed: " + e.getMessage(), e));
      }
      log.warn("Batch of {} failed, retrying image by image: {}", batch.size(), e.toString());
      return batch.stream().flatMap(image -> infer(List.of(image)).stream()).toList();
    }
  }

  private List<float[]> predict(List<Image> batch) throws TranslateException {
    predictorLock.lock();
    try {
      return predictor.batchPredict(batch);
    } finally {
      predictorLock.unlock();
    }
  }

  private Image decode(byte[] bytes) throws IOException {
    if (bytes == null || bytes.length == 0) {
      throw new IOException("no bytes");
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new IOException("not a known image format");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
        if (pixels > maxPixels) {
          throw new ImageTooLargeException(
              reader.getWidth(0)
                  + " x "
                  + reader.getHeight(0)
                  + " pixels is more than "
                  + maxPixels);
        }
        return images.fromImage(reader.read(0));
      } finally {
        reader.dispose();
      }
    }
  }

  /**
   * One intra-op thread per core and one inter-op thread, unless the system properties {@code
   * ai.djl.pytorch.num_threads} / {@code num_interop_threads} say otherwise. Measured on this
   * project's 2-core box (LocalModeBench, whole local mode in one JVM): 2 intra-op threads gave 41
   * images/s end to end against 32 with 1. PyTorch's OpenMP threads spin while they wait, so on a
   * box where other busy processes compete for the cores, 1 thread can be far faster (2.2 vs 55
   * images/s was seen under a load of 6 on 2 cores): set {@code -Dai.djl.pytorch.num_threads=1}
   * there.
   */
  static void configureThreads() {
    if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
      int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
      System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    }
    if (System.getProperty("ai.djl.pytorch.num_interop_threads") == null) {
      System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }
  }

  /** Copies the bundled model out of the jar into the DJL cache, once per weights hash. */
  static Path bundledModel() {
    return bundledFile(DEFAULT_MODEL_RESOURCE, DEFAULT_MODEL_NAME);
  }

  /**
   * Copies a TorchScript file shipped on the classpath into the DJL cache, once per weights hash,
   * as {@code name.pt}.
   */
  static Path bundledFile(String resource, String name) {
    try (InputStream in = DjlEmbedder.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(
            "The bundled model " + resource + " is not on the classpath");
      }
      byte[] bytes = in.readAllBytes();
      String sha = HexFormat.of().formatHex(digest().digest(bytes));
      Path dir = Utils.getCacheDir().resolve("lookalike-models").resolve(sha.substring(0, 16));
      Path file = dir.resolve(name + ".pt");
      if (!Files.isRegularFile(file) || Files.size(file) != bytes.length) {
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, name, ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot copy the bundled model into the DJL cache", e);
    }
  }

  private static Path localPath(String url) {
    if (url.startsWith("file:")) {
      return Path.of(URI.create(url));
    }
    return URL_SCHEME.matcher(url).matches() ? null : Path.of(url);
  }

  private static Path weightsFile(ZooModel<?, ?> model) {
    Path dir = model.getModelPath();
    Path named = dir.resolve(model.getName() + ".pt");
    if (Files.isRegularFile(named)) {
      return named;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(p -> p.toString().endsWith(".pt"))
          .sorted()
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("No .pt file in " + dir));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String sha256(Path file) {
    MessageDigest digest = digest();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String stem(Path file) {
    String name = file.getFileName().toString();
    int dot = name.indexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }

  private static String orElse(String value, String fallback) {
    return value == null || value.isEmpty() ? fallback : value;
  }

  /** Scales an embedding to unit length (left as is when all zero). */
  public static float[] l2Normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += x * x;
    }
    if (sum > 0) {
      float inv = (float) (1 / Math.sqrt(sum));
      for (int i = 0; i < v.length; i++) {
        v[i] *= inv;
      }
    }
    return v;
  }

  /** Resize short side, centre crop, to tensor, normalise; unit-length vectors out. */
  static final class ImageEmbeddingTranslator implements Translator<Image, float[]> {

    private final Pipeline pipeline;

    ImageEmbeddingTranslator(EmbeddingModelConfig config) {
      this.pipeline =
          new Pipeline()
              .add(new ResizeShort(config.resizePx()))
              .add(new CenterCrop(config.inputSizePx(), config.inputSizePx()))
              .add(new ToTensor())
              .add(new Normalize(config.mean(), config.std()));
    }

    @Override
    public NDList processInput(TranslatorContext ctx, Image input) {
      return pipeline.transform(new NDList(input.toNDArray(ctx.getNDManager(), Image.Flag.COLOR)));
    }

    @Override
    public float[] processOutput(TranslatorContext ctx, NDList list) {
      return l2Normalize(list.get(0).toFloatArray());
    }
  }

  private static final class ImageTooLargeException extends IOException {
    ImageTooLargeException(String message) {
      super(message);
    }
  }

  @Override
  public String toString() {
    return "DjlEmbedder[" + info.modelId() + ", " + info.dimension() + "-d]";
  }
}
