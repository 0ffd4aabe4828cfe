package io.lookalike.model;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.modality.cv.BufferedImageFactory;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.transform.Normalize;
import ai.djl.modality.cv.transform.Resize;
import ai.djl.modality.cv.transform.ToTensor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.Pipeline;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import io.lookalike.image.Region;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import javax.imageio.ImageIO;

/**
 * Finds the garments in a photo from the default model's own last feature map, with no extra model:
 * the map (1280 channels × 7 × 7 for the whole photo resized to 224 × 224) is summed over channels,
 * the cells above its mean are kept and each 8-connected group of them is a region; the largest is
 * the main garment (SCDA, Wei et al., "Selective Convolutional Descriptor Aggregation for
 * Fine-Grained Image Retrieval", IEEE TIP 2017). One forward pass of the backbone, so locating and
 * then embedding the region costs about two embeddings. Regions are {@link Region}s: fractions of
 * the photo it is given. Thread-safe (one predictor behind a lock).
 */
public final class GarmentLocator implements AutoCloseable {

  static final String RESOURCE =
      "lookalike/models/mobilenet_v2_featuremap/mobilenet_v2_featuremap.pt";
  static final String NAME = "mobilenet_v2_featuremap";

  /** The input side in pixels: the whole photo is resized to a square of it. */
  public static final int INPUT_PX = 224;

  /** A main region covering at least this share of the map is the whole photo. */
  static final double WHOLE_AREA = 0.85;

  /** Other regions are kept only with at least this share of the main region's activation. */
  static final double MIN_MASS_SHARE = 0.25;

  private final ZooModel<Image, float[][]> model;
  private final Predictor<Image, float[][]> predictor;
  private final ReentrantLock lock = new ReentrantLock();
  private final double marginCells;

  private GarmentLocator(ZooModel<Image, float[][]> model, double marginCells) {
    this.model = model;
    this.predictor = model.newPredictor();
    this.marginCells = marginCells;
  }

  /** The locator of the bundled MobileNetV2 (its feature map, shipped beside the default model). */
  public static GarmentLocator loadDefault() {
    return load(DjlEmbedder.bundledFile(RESOURCE, NAME), 0.5);
  }

  /**
   * A locator on a TorchScript file that maps {@code [N, 3, 224, 224]} ImageNet-normalised RGB to a
   * non-negative feature map {@code [N, C, H, W]}.
   *
   * @param marginCells how many map cells a region's box grows on each side (the receptive field of
   *     a cell reaches beyond it)
   */
  public static GarmentLocator load(Path file, double marginCells) {
    DjlEmbedder.configureThreads();
    Criteria<Image, float[][]> criteria =
        Criteria.builder()
            .setTypes(Image.class, float[][].class)
            .optEngine("PyTorch")
            .optOption("mapLocation", "true")
            .optModelPath(file.getParent())
            .optModelName(file.getFileName().toString().replaceFirst("\\.pt$", ""))
            .optTranslator(new ActivationTranslator())
            .build();
    try {
      return new GarmentLocator(criteria.loadModel(), marginCells);
    } catch (IOException | ModelNotFoundException | MalformedModelException e) {
      throw new IllegalStateException("Cannot load the garment locator " + file, e);
    }
  }

  /** The main garment of the photo (JPEG, PNG or WebP bytes), or the whole photo. */
  public Region locate(byte[] photo) {
    return regions(photo, 1).get(0);
  }

  /** Up to {@code max} regions of the photo, main garment first; never empty. */
  public List<Region> regions(byte[] photo, int max) {
    return regions(activation(photo), marginCells, max);
  }

  /** The feature map summed over channels, {@code [H][W]}. */
  public float[][] activation(byte[] photo) {
    BufferedImage image;
    try {
      image = ImageIO.read(new ByteArrayInputStream(photo));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot decode the photo: " + e.getMessage(), e);
    }
    if (image == null) {
      throw new IllegalArgumentException("cannot decode the photo: not a known image format");
    }
    lock.lock();
    try {
      return predictor.predict(new BufferedImageFactory().fromImage(image));
    } catch (TranslateException e) {
      throw new IllegalStateException("the garment locator failed: " + e.getMessage(), e);
    } finally {
      lock.unlock();
    }
  }

  /**
   * The regions of an activation map: 8-connected groups of cells above the map's mean, the largest
   * (by cells, then activation) first, others kept with at least {@link #MIN_MASS_SHARE} of its
   * activation; each box grown by {@code marginCells} and clipped to the photo. A main region of at
   * least {@link #WHOLE_AREA} of the map, or a map with nothing above its mean, is the whole photo.
   */
  static List<Region> regions(float[][] map, double marginCells, int max) {
    int h = map.length;
    int w = map[0].length;
    double mean = 0;
    for (float[] row : map) {
      for (float v : row) {
        mean += v;
      }
    }
    mean /= (double) h * w;
    int[][] label = new int[h][w];
    record Blob(int cells, double mass, int r0, int c0, int r1, int c1) {}
    List<Blob> blobs = new ArrayList<>();
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        if (label[r][c] != 0 || map[r][c] <= mean) {
          continue;
        }
        int id = blobs.size() + 1;
        int cells = 0;
        double mass = 0;
        int r0 = r;
        int c0 = c;
        int r1 = r;
        int c1 = c;
        ArrayDeque<int[]> todo = new ArrayDeque<>();
        todo.add(new int[] {r, c});
        label[r][c] = id;
        while (!todo.isEmpty()) {
          int[] cell = todo.poll();
          cells++;
          mass += map[cell[0]][cell[1]];
          r0 = Math.min(r0, cell[0]);
          r1 = Math.max(r1, cell[0]);
          c0 = Math.min(c0, cell[1]);
          c1 = Math.max(c1, cell[1]);
          for (int dr = -1; dr <= 1; dr++) {
            for (int dc = -1; dc <= 1; dc++) {
              int nr = cell[0] + dr;
              int nc = cell[1] + dc;
              if (nr >= 0
                  && nr < h
                  && nc >= 0
                  && nc < w
                  && label[nr][nc] == 0
                  && map[nr][nc] > mean) {
                label[nr][nc] = id;
                todo.add(new int[] {nr, nc});
              }
            }
          }
        }
        blobs.add(new Blob(cells, mass, r0, c0, r1, c1));
      }
    }
    if (blobs.isEmpty()) {
      return List.of(Region.WHOLE);
    }
    blobs.sort(Comparator.comparingInt(Blob::cells).thenComparingDouble(Blob::mass).reversed());
    Blob main = blobs.get(0);
    List<Region> out = new ArrayList<>();
    for (Blob b : blobs) {
      if (out.size() >= max || (b != main && b.mass() < MIN_MASS_SHARE * main.mass())) {
        continue;
      }
      double area = (double) (b.r1() - b.r0() + 1) * (b.c1() - b.c0() + 1) / ((double) h * w);
      if (b == main && area >= WHOLE_AREA) {
        out.add(Region.WHOLE);
        continue;
      }
      double x0 = Math.max(0, (b.c0() - marginCells) / w);
      double y0 = Math.max(0, (b.r0() - marginCells) / h);
      double x1 = Math.min(1, (b.c1() + 1 + marginCells) / w);
      double y1 = Math.min(1, (b.r1() + 1 + marginCells) / h);
      out.add(Region.of(x0, y0, x1 - x0, y1 - y0));
    }
    return out;
  }

  @Override
  public void close() {
    predictor.close();
    model.close();
  }

  /**
   * The whole photo resized to 224 × 224, ImageNet-normalised; out: the map summed over channels.
   */
  private static final class ActivationTranslator implements Translator<Image, float[][]> {

    private final Pipeline pipeline =
        new Pipeline()
            .add(new Resize(INPUT_PX, INPUT_PX))
            .add(new ToTensor())
            .add(
                new Normalize(
                    new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f}));

    @Override
    public NDList processInput(TranslatorContext ctx, Image input) {
      return pipeline.transform(new NDList(input.toNDArray(ctx.getNDManager(), Image.Flag.COLOR)));
    }

    @Override
    public float[][] processOutput(TranslatorContext ctx, NDList list) {
      NDArray map = list.get(0);
      if (map.getShape().dimension() == 4) {
        map = map.get(0);
      }
      NDArray summed = map.sum(new int[] {0});
      int h = (int) summed.getShape().get(0);
      int w = (int) summed.getShape().get(1);
      float[] flat = summed.toFloatArray();
      float[][] out = new float[h][w];
      for (int r = 0; r < h; r++) {
        System.arraycopy(flat, r * w, out[r], 0, w);
      }
      return out;
    }
  }
}
