package io.lookalike.image;

import java.awt.image.BufferedImage;
import java.util.Locale;

/**
 * A rectangle of a photo in fractions of its upright (EXIF-oriented) width and height: {@code x, y}
 * the top-left corner, {@code w, h} the size, each in 0..1, so the same region means the same part
 * of the photo whatever size it is sent or stored at. Made only through {@link #of} or {@link
 * #parse}, which refuse a region that is empty or reaches outside the photo.
 */
public record Region(double x, double y, double w, double h) {

  /** The whole photo. */
  public static final Region WHOLE = new Region(0, 0, 1, 1);

  /** Rounding slack for a region whose edge is given as, e.g., 0.3 + 0.7. */
  private static final double EPSILON = 1e-9;

  public Region {
    String problem = problem(x, y, w, h);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
  }

  /** The region, or an IllegalArgumentException whose message names the values and the rule. */
  public static Region of(double x, double y, double w, double h) {
    return new Region(x, y, w, h);
  }

  /** {@code "x,y,w,h"}: four numbers in 0..1, separated by commas (spaces allowed). */
  public static Region parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("crop is empty: give x,y,w,h in fractions 0..1");
    }
    String[] parts = text.split(",", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          "crop '" + text + "' must be four numbers x,y,w,h in fractions 0..1 of the photo");
    }
    double[] v = new double[4];
    for (int i = 0; i < 4; i++) {
      try {
        v[i] = Double.parseDouble(parts[i].strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "crop '" + text + "' must be four numbers x,y,w,h in fractions 0..1 of the photo");
      }
    }
    String problem = problem(v[0], v[1], v[2], v[3]);
    if (problem != null) {
      throw new IllegalArgumentException("crop '" + text + "': " + problem);
    }
    return new Region(v[0], v[1], v[2], v[3]);
  }

  private static String problem(double x, double y, double w, double h) {
    if (!(Double.isFinite(x) && Double.isFinite(y) && Double.isFinite(w) && Double.isFinite(h))) {
      return "x, y, w and h must be finite numbers";
    }
    if (x < 0 || y < 0 || x > 1 || y > 1) {
      return "x and y must be in 0..1 (fractions of the photo's width and height), got x="
          + x
          + " y="
          + y;
    }
    if (w <= 0 || h <= 0) {
      return "the region is empty: w and h must be above 0, got w=" + w + " h=" + h;
    }
    if (x + w > 1 + EPSILON || y + h > 1 + EPSILON) {
      return "the region reaches outside the photo: x + w and y + h must be at most 1, got "
          + (x + w)
          + " and "
          + (y + h);
    }
    return null;
  }

  /** The whole photo? */
  public boolean isWhole() {
    return x <= EPSILON && y <= EPSILON && w >= 1 - EPSILON && h >= 1 - EPSILON;
  }

  /**
   * The pixels of this region of {@code image} (at least 1×1; edges rounded to the nearest pixel),
   * sharing its raster.
   */
  public BufferedImage cut(BufferedImage image) {
    int width = image.getWidth();
    int height = image.getHeight();
    int left = (int) Math.min(width - 1, Math.round(x * width));
    int top = (int) Math.min(height - 1, Math.round(y * height));
    int right = (int) Math.max(left + 1, Math.min(width, Math.round((x + w) * width)));
    int bottom = (int) Math.max(top + 1, Math.min(height, Math.round((y + h) * height)));
    return image.getSubimage(left, top, right - left, bottom - top);
  }

  /** This region, given as fractions of {@code outer}, in fractions of the whole photo. */
  public Region within(Region outer) {
    double nx = outer.x + x * outer.w;
    double ny = outer.y + y * outer.h;
    return new Region(nx, ny, Math.min(w * outer.w, 1 - nx), Math.min(h * outer.h, 1 - ny));
  }

  /** {@code x,y,w,h} with four decimals, as {@link #parse} reads it. */
  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%.4f,%.4f,%.4f,%.4f", x, y, w, h);
  }
}
