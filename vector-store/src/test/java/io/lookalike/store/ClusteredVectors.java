package io.lookalike.store;

import java.util.Random;

/**
 * Synthetic L2-normalised vectors grouped around random centres, like embeddings of a catalog with
 * many near-identical products; random Gaussian vectors would make recall figures meaningless.
 */
public final class ClusteredVectors {

  private final float[][] centres;
  private final float spread;
  private final Random random;

  public ClusteredVectors(int dimension, int clusters, float spread, long seed) {
    this.random = new Random(seed);
    this.spread = spread;
    this.centres = new float[clusters][];
    for (int c = 0; c < clusters; c++) {
      centres[c] = gaussian(dimension, 1f);
    }
  }

  public float[] next() {
    float[] centre = centres[random.nextInt(centres.length)];
    float[] noise = gaussian(centre.length, spread);
    float[] v = new float[centre.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = centre[i] + noise[i];
    }
    return normalise(v);
  }

  public float[][] next(int n) {
    float[][] vectors = new float[n][];
    for (int i = 0; i < n; i++) {
      vectors[i] = next();
    }
    return vectors;
  }

  public static float dot(float[] a, float[] b) {
    float sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += a[i] * b[i];
    }
    return sum;
  }

  public static float[] normalise(float[] v) {
    double norm = Math.sqrt(dot(v, v));
    for (int i = 0; i < v.length; i++) {
      v[i] /= (float) norm;
    }
    return v;
  }

  private float[] gaussian(int dimension, float sigma) {
    float[] v = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      v[i] = (float) random.nextGaussian() * sigma;
    }
    return v;
  }
}
