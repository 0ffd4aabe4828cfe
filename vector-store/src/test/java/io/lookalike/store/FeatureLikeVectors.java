package io.lookalike.store;

import java.util.SplittableRandom;

/**
 * Synthetic L2-normalised vectors shaped like pooled CNN features of a catalog: a Gaussian mixture
 * around a few thousand centroids of very different sizes, a shared mean (real features are mostly
 * positive, so two unrelated photos still score ~0.3–0.5), a decaying per-dimension variance (like
 * the PCA spectrum of real embeddings) and a spread of its own per cluster. Vector {@code i} is a
 * pure function of the seed and {@code i}, so a million of them need not be held in memory.
 */
public final class FeatureLikeVectors {

  private final int dimension;
  private final long seed;
  private final float[][] centroids;
  private final float[] spread;
  private final float[] scale;
  private final double[] cumulativeWeight;

  public FeatureLikeVectors(int dimension, int clusters, long seed) {
    this.dimension = dimension;
    this.seed = seed;
    SplittableRandom random = new SplittableRandom(seed);
    // Variance by dimension decays like an embedding's spectrum; shuffled so that no dimension
    // range is special.
    scale = new float[dimension];
    for (int d = 0; d < dimension; d++) {
      scale[d] = (float) (1 / Math.sqrt(1 + d / 24.0));
    }
    for (int d = dimension - 1; d > 0; d--) {
      int other = random.nextInt(d + 1);
      float t = scale[d];
      scale[d] = scale[other];
      scale[other] = t;
    }
    float[] mean = new float[dimension];
    for (int d = 0; d < dimension; d++) {
      mean[d] = (float) (0.8 * scale[d] * Math.abs(random.nextGaussian()));
    }
    centroids = new float[clusters][dimension];
    spread = new float[clusters];
    cumulativeWeight = new double[clusters];
    double total = 0;
    for (int c = 0; c < clusters; c++) {
      for (int d = 0; d < dimension; d++) {
        centroids[c][d] = mean[d] + (float) (scale[d] * random.nextGaussian());
      }
      spread[c] = (float) (0.35 + 0.45 * random.nextDouble()); // tight and loose product groups
      total += 1.0 / Math.pow(c + 1, 0.7); // a few large categories, a long tail of small ones
      cumulativeWeight[c] = total;
    }
    for (int c = 0; c < clusters; c++) {
      cumulativeWeight[c] /= total;
    }
  }

  public int dimension() {
    return dimension;
  }

  /** Vector number {@code i}; the same for the same seed and {@code i}. */
  public float[] vector(long i) {
    SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
    int cluster = java.util.Arrays.binarySearch(cumulativeWeight, random.nextDouble());
    cluster = Math.min(cluster < 0 ? -cluster - 1 : cluster, centroids.length - 1);
    float[] centre = centroids[cluster];
    float sigma = spread[cluster];
    float[] v = new float[dimension];
    for (int d = 0; d < dimension; d++) {
      v[d] = centre[d] + (float) (sigma * scale[d] * random.nextGaussian());
    }
    return ClusteredVectors.normalise(v);
  }
}
