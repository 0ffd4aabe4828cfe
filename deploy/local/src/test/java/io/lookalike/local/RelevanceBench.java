package io.lookalike.local;

import io.lookalike.image.HardAlterations;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.Region;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.GarmentLocator;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * What a shopper feels, on clothing-small with a real {@link DjlEmbedder}: the index holds {@code
 * train/} + {@code validation/} (one product per photo), queries are
 *
 * <ul>
 *   <li>{@code test/} photos: category P@1, P@10, mAP@10 (AP over the top 10, normalised by the
 *       number of hits of the query's category in it, the usual "AP@k"), overall and per class;
 *   <li>altered copies of {@code bench.altered} indexed photos (same product): recall@1 and @10 of
 *       the photo's own product for each {@link HardAlterations}, and "scene-40%": the product at
 *       40 % of another class's test photo (a busy background with its own garment);
 *   <li>top-1 score distributions (p10 / median / p90): test queries whose top hit has the right
 *       category, the wrong one, and off-catalogue queries: test photos of {@code bench.holdout}
 *       against the index without that class.
 * </ul>
 *
 * Search is exact (brute-force cosine) so the numbers are the model's, not HNSW's (LuceneStoreBench
 * measures that). Run with {@code ./mvnw -q -pl deploy/local test-compile exec:java
 * -Dbench=io.lookalike.local.RelevanceBench} ({@code -Dbench.model=PATH} another TorchScript file,
 * {@code -Dbench.index=N} index only N photos, round-robin over classes, {@code -Dbench.queries=N},
 * {@code -Dbench.altered=N} (default 300), {@code -Dbench.holdout=CLASS} (default skirt), {@code
 * -Dbench.dump=FILE} writes the index's vectors, {@code -Dbench.alterations=a,b} only those rows,
 * {@code -Dbench.localize=true} everything again with the queries localised ({@link
 * GarmentLocator}) plus the cost ratio, {@code -Dbench.localize.catalog=true} also with the index
 * photos localised).
 */
public final class RelevanceBench {

  private static final int K = 10;

  record Item(String id, String category, float[] vector) {}

  public static void main(String[] args) throws Exception {
    String modelUrl = System.getProperty("bench.model", "");
    int indexLimit = Integer.getInteger("bench.index", Integer.MAX_VALUE);
    int queryLimit = Integer.getInteger("bench.queries", Integer.MAX_VALUE);
    int altered = Integer.getInteger("bench.altered", 300);
    String holdout = System.getProperty("bench.holdout", "skirt");
    long t0 = System.nanoTime();
    try (DjlEmbedder embedder = DjlEmbedder.load(EmbeddingModelConfig.of(modelUrl))) {
      List<Photo> indexPhotos = new ArrayList<>(SampleImages.photos("train", 100_000));
      indexPhotos.addAll(SampleImages.photos("validation", 100_000));
      indexPhotos = roundRobin(indexPhotos, indexLimit);
      List<Photo> queryPhotos = SampleImages.photos("test", Math.min(queryLimit, 100_000));
      System.out.printf(
          "model %s: indexing %d photos, %d test queries, %d altered products%n",
          embedder.model().modelId(), indexPhotos.size(), queryPhotos.size(), altered);
      List<Item> index = embed(embedder, indexPhotos, UnaryOperator.identity());
      List<Item> queries = embed(embedder, queryPhotos, UnaryOperator.identity());
      double embedSeconds = (System.nanoTime() - t0) / 1e9;
      String dump = System.getProperty("bench.dump");
      if (dump != null) {
        dumpVectors(index, java.nio.file.Path.of(dump));
      }

      printCategory(index, queries);
      printScores(index, queries, holdout);
      printCalibration(index, queries, holdout);
      printSameProduct(embedder, index, indexPhotos, queryPhotos, altered, null);
      if (Boolean.getBoolean("bench.localize")) {
        try (GarmentLocator locator = GarmentLocator.loadDefault()) {
          UnaryOperator<byte[]> localized = photo -> localized(locator, photo);
          System.out.printf(
              "%n=== localize=true on the queries (GarmentLocator, then the region) ===%n");
          List<Item> localQueries = embed(embedder, queryPhotos, localized);
          printCategory(index, localQueries);
          printSameProduct(embedder, index, indexPhotos, queryPhotos, altered, localized);
          printScores(index, localQueries, holdout);
          printCost(embedder, locator, queryPhotos);
          if (Boolean.getBoolean("bench.localize.catalog")) {
            System.out.printf("%n=== localize=true on the catalog photos too ===%n");
            List<Item> localIndex = embed(embedder, indexPhotos, localized);
            printCategory(localIndex, localQueries);
            printSameProduct(embedder, localIndex, indexPhotos, queryPhotos, altered, localized);
          }
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%n(%d photos embedded in %.0f s; whole run %.0f s)%n",
          indexPhotos.size() + queryPhotos.size(),
          embedSeconds,
          (System.nanoTime() - t0) / 1e9);
    }
  }

  /** Category precision of the test photos against the index. */
  static void printCategory(List<Item> index, List<Item> queries) {
    Map<String, double[]> byClass = new TreeMap<>(); // p1, p10, ap10, n
    for (Item q : queries) {
      List<Item> top = nearest(index, q.vector(), K, null);
      double hits = 0;
      double apSum = 0;
      for (int i = 0; i < top.size(); i++) {
        if (top.get(i).category().equals(q.category())) {
          hits++;
          apSum += hits / (i + 1);
        }
      }
      double[] acc = byClass.computeIfAbsent(q.category(), c -> new double[4]);
      acc[0] += top.get(0).category().equals(q.category()) ? 1 : 0;
      acc[1] += hits / K;
      acc[2] += hits == 0 ? 0 : apSum / hits;
      acc[3]++;
    }
    double[] all = new double[4];
    System.out.printf("%n%-12s %6s %6s %7s %5s%n", "category", "P@1", "P@10", "mAP@10", "n");
    for (var e : byClass.entrySet()) {
      double[] a = e.getValue();
      System.out.printf(
          Locale.ROOT,
          "%-12s %6.3f %6.3f %7.3f %5d%n",
          e.getKey(),
          a[0] / a[3],
          a[1] / a[3],
          a[2] / a[3],
          (int) a[3]);
      for (int i = 0; i < 4; i++) {
        all[i] += a[i];
      }
    }
    System.out.printf(
        Locale.ROOT,
        "%-12s %6.3f %6.3f %7.3f %5d%n",
        "ALL",
        all[0] / all[3],
        all[1] / all[3],
        all[2] / all[3],
        (int) all[3]);
  }

  /** Altered copies of indexed photos must find their own photo. */
  static void printSameProduct(
      DjlEmbedder embedder,
      List<Item> index,
      List<Photo> indexPhotos,
      List<Photo> scenes,
      int count,
      UnaryOperator<byte[]> localize) {
    UnaryOperator<byte[]> then = localize == null ? UnaryOperator.identity() : localize;
    List<Integer> picks = new ArrayList<>();
    for (int i = 0; i < indexPhotos.size(); i++) {
      picks.add(i);
    }
    Collections.shuffle(picks, new Random(7));
    picks = picks.subList(0, Math.min(count, picks.size()));
    Map<String, UnaryOperator<byte[]>> alterations =
        new LinkedHashMap<>(HardAlterations.singlePhoto());
    String only = System.getProperty("bench.alterations", "");
    if (!only.isBlank()) {
      alterations.keySet().retainAll(List.of(only.split(",")));
    }
    System.out.printf("%n%-15s %9s %9s %5s%n", "same product", "recall@1", "recall@10", "n");
    for (var alteration : alterations.entrySet()) {
      List<Photo> sample = picks.stream().map(indexPhotos::get).toList();
      UnaryOperator<byte[]> alter = alteration.getValue();
      recallRow(
          alteration.getKey(), embed(embedder, sample, p -> then.apply(alter.apply(p))), index);
    }
    // the product at 40 % inside a test photo of another class
    List<Item> scened = new ArrayList<>();
    Random random = new Random(11);
    for (int from = 0; from < picks.size(); from += 32) {
      List<byte[]> batch = new ArrayList<>();
      List<Photo> batchPhotos = new ArrayList<>();
      for (int i : picks.subList(from, Math.min(picks.size(), from + 32))) {
        Photo product = indexPhotos.get(i);
        Photo scene;
        do {
          scene = scenes.get(random.nextInt(scenes.size()));
        } while (scene.category().equals(product.category()));
        batch.add(then.apply(HardAlterations.pastedIntoScene(product.bytes(), scene.bytes())));
        batchPhotos.add(product);
      }
      scened.addAll(toItems(batchPhotos, embedder.embed(batch)));
    }
    recallRow("scene-40%", scened, index);
  }

  private static final ImageNormaliser NORMALISER = new ImageNormaliser();

  /** What the gateway does with localize=true: the located region of the photo, cut from it. */
  static byte[] localized(GarmentLocator locator, byte[] photo) {
    Region region = locator.locate(photo);
    if (region.isWhole()) {
      return photo;
    }
    try {
      return NORMALISER.normalise(photo, region).bytes();
    } catch (io.lookalike.image.RejectedImageException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Cost of a photo search's model work, one photo at a time as the gateway does it: normalise +
   * embed, against normalise + locate + cut + embed.
   */
  static void printCost(DjlEmbedder embedder, GarmentLocator locator, List<Photo> photos)
      throws Exception {
    List<Photo> sample = photos.subList(0, Math.min(60, photos.size()));
    for (int round = 0; round < 2; round++) { // the first round warms up
      long plain = 0;
      long local = 0;
      for (Photo p : sample) {
        long t = System.nanoTime();
        embedder.embed(List.of(NORMALISER.normalise(p.bytes()).bytes()));
        plain += System.nanoTime() - t;
        t = System.nanoTime();
        byte[] valid = NORMALISER.normalise(p.bytes()).bytes();
        embedder.embed(List.of(localized(locator, valid)));
        local += System.nanoTime() - t;
      }
      if (round == 1) {
        System.out.printf(
            Locale.ROOT,
            "%ncost per photo search (%d photos, batch 1, interleaved): plain %.1f ms, localize %.1f ms, ratio %.2f%n",
            sample.size(),
            plain / 1e6 / sample.size(),
            local / 1e6 / sample.size(),
            local / (double) plain);
      }
    }
  }

  /**
   * How a per-index threshold from the index alone (each indexed photo's best score against the
   * other indexed photos, i.e. how alike two different catalog products get) splits the test
   * queries: the share of right, wrong and off-catalogue top-1s at or above it, by quantile.
   */
  static void printCalibration(List<Item> index, List<Item> queries, String holdout) {
    List<Item> without = index.stream().filter(i -> !i.category().equals(holdout)).toList();
    double[] loo = new double[without.size()];
    for (int i = 0; i < without.size(); i++) {
      Item self = without.get(i);
      loo[i] = score(self, nearest(without, self.vector(), 1, self.id()).get(0));
    }
    Arrays.sort(loo);
    double[] all = new double[index.size()];
    for (int i = 0; i < index.size(); i++) {
      Item self = index.get(i);
      all[i] = score(self, nearest(index, self.vector(), 1, self.id()).get(0));
    }
    Arrays.sort(all);
    closeThreshold = quantile(all, 0.95);
    List<Double> right = new ArrayList<>();
    List<Double> wrong = new ArrayList<>();
    List<Double> off = new ArrayList<>();
    for (Item q : queries) {
      Item top = nearest(without, q.vector(), 1, null).get(0);
      if (q.category().equals(holdout)) {
        off.add(score(q, top));
      } else {
        (top.category().equals(q.category()) ? right : wrong).add(score(q, top));
      }
    }
    System.out.printf(
        "%nindex nearest-neighbour score (%s held out, %d photos): p10 %.3f median %.3f p90 %.3f%n",
        holdout, loo.length, quantile(loo, 0.1), quantile(loo, 0.5), quantile(loo, 0.9));
    System.out.printf(
        Locale.ROOT,
        "closeMatch threshold (p95 of the whole index's NN scores, as minScore=auto): %.3f%n",
        closeThreshold);
    System.out.printf(
        "%-28s %8s %8s %8s %8s%n",
        "threshold = NN quantile", "value", "right>=", "wrong>=", "off>=");
    for (double q : new double[] {0.5, 0.75, 0.9, 0.95, 0.99}) {
      double t = quantile(loo, q);
      System.out.printf(
          Locale.ROOT,
          "%-28s %8.3f %8.3f %8.3f %8.3f%n",
          "p" + Math.round(q * 100),
          t,
          share(right, t),
          share(wrong, t),
          share(off, t));
    }
  }

  private static double share(List<Double> scores, double threshold) {
    return scores.isEmpty()
        ? Double.NaN
        : scores.stream().filter(s -> s >= threshold).count() / (double) scores.size();
  }

  /**
   * The close-match threshold minScore=auto would use (p95 of the index's NN scores); NaN before.
   */
  private static double closeThreshold = Double.NaN;

  private static void recallRow(String name, List<Item> queries, List<Item> index) {
    int at1 = 0;
    int at10 = 0;
    int close = 0;
    for (Item q : queries) {
      List<Item> top = nearest(index, q.vector(), K, null);
      close += score(q, top.get(0)) >= closeThreshold ? 1 : 0;
      at1 += top.get(0).id().equals(q.id()) ? 1 : 0;
      at10 += top.stream().anyMatch(t -> t.id().equals(q.id())) ? 1 : 0;
    }
    System.out.printf(
        Locale.ROOT,
        "%-15s %9.3f %9.3f %5d   closeMatch %.3f%n",
        name,
        at1 / (double) queries.size(),
        at10 / (double) queries.size(),
        queries.size(),
        close / (double) queries.size());
  }

  /** Top-1 scores: right category, wrong category, off-catalogue (held-out class). */
  static void printScores(List<Item> index, List<Item> queries, String holdout) {
    List<Double> right = new ArrayList<>();
    List<Double> wrong = new ArrayList<>();
    List<Double> off = new ArrayList<>();
    List<Item> without = index.stream().filter(i -> !i.category().equals(holdout)).toList();
    for (Item q : queries) {
      if (q.category().equals(holdout)) {
        off.add(score(q, nearest(without, q.vector(), 1, null).get(0)));
      } else {
        Item top = nearest(index, q.vector(), 1, null).get(0);
        (top.category().equals(q.category()) ? right : wrong).add(score(q, top));
      }
    }
    System.out.printf("%n%-32s %6s %6s %6s %5s%n", "top-1 score", "p10", "median", "p90", "n");
    scoreRow("right category", right);
    scoreRow("wrong category", wrong);
    scoreRow("off-catalogue (" + holdout + " held out)", off);
  }

  private static void scoreRow(String name, List<Double> scores) {
    double[] s = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    System.out.printf(
        Locale.ROOT,
        "%-32s %6.3f %6.3f %6.3f %5d%n",
        name,
        quantile(s, 0.1),
        quantile(s, 0.5),
        quantile(s, 0.9),
        s.length);
  }

  static double quantile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  private static double score(Item q, Item hit) {
    return dot(q.vector(), hit.vector());
  }

  static List<Item> nearest(List<Item> index, float[] query, int k, String excludeId) {
    record Scored(Item item, double score) {}
    List<Scored> scored = new ArrayList<>(index.size());
    for (Item item : index) {
      if (!item.id().equals(excludeId)) {
        scored.add(new Scored(item, dot(query, item.vector())));
      }
    }
    scored.sort((a, b) -> Double.compare(b.score(), a.score()));
    return scored.subList(0, Math.min(k, scored.size())).stream().map(Scored::item).toList();
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  private static List<Item> embed(
      DjlEmbedder embedder, List<Photo> photos, UnaryOperator<byte[]> alteration) {
    List<Item> out = new ArrayList<>(photos.size());
    for (int from = 0; from < photos.size(); from += 32) {
      List<Photo> batch = photos.subList(from, Math.min(photos.size(), from + 32));
      out.addAll(
          toItems(
              batch,
              embedder.embed(batch.stream().map(p -> alteration.apply(p.bytes())).toList())));
    }
    return out;
  }

  private static List<Item> toItems(List<Photo> photos, List<EmbeddingResult> results) {
    List<Item> out = new ArrayList<>();
    for (int i = 0; i < photos.size(); i++) {
      if (results.get(i) instanceof EmbeddingResult.Vector v) {
        out.add(new Item(photos.get(i).id(), photos.get(i).category(), unit(v.values())));
      } else {
        System.err.println("not embedded: " + photos.get(i).path() + " " + results.get(i));
      }
    }
    return out;
  }

  static float[] unit(float[] v) {
    double s = 0;
    for (float x : v) {
      s += x * x;
    }
    float n = (float) Math.sqrt(s);
    float[] out = Arrays.copyOf(v, v.length);
    for (int i = 0; i < out.length; i++) {
      out[i] /= n;
    }
    return out;
  }

  /**
   * One line per indexed photo: id, category, comma-separated vector (for models/train/adapt.py).
   */
  private static void dumpVectors(List<Item> index, java.nio.file.Path file)
      throws java.io.IOException {
    try (var out = java.nio.file.Files.newBufferedWriter(file)) {
      for (Item item : index) {
        StringBuilder line =
            new StringBuilder(item.id()).append('\t').append(item.category()).append('\t');
        for (int i = 0; i < item.vector().length; i++) {
          line.append(i == 0 ? "" : ",").append(item.vector()[i]);
        }
        out.write(line.append('\n').toString());
      }
    }
  }

  private static List<Photo> roundRobin(List<Photo> photos, int limit) {
    if (limit >= photos.size()) {
      return photos;
    }
    Map<String, List<Photo>> byClass = new TreeMap<>();
    photos.forEach(p -> byClass.computeIfAbsent(p.category(), c -> new ArrayList<>()).add(p));
    List<Photo> out = new ArrayList<>();
    for (int i = 0; out.size() < limit; i++) {
      for (List<Photo> list : byClass.values()) {
        if (i < list.size() && out.size() < limit) {
          out.add(list.get(i));
        }
      }
    }
    return out;
  }
}
