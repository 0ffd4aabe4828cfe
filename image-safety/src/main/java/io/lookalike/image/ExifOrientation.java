package io.lookalike.image;

import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEG;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegment;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGSegmentUtil;
import com.twelvemonkeys.imageio.metadata.tiff.TIFF;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * The EXIF Orientation tag of a JPEG (1–8, TIFF 6.0 §Orientation) and the rotation/flip that shows
 * the photo upright. Phones store portraits as landscape pixels with Orientation=6; without this
 * step they are indexed and searched sideways. Parsing uses TwelveMonkeys' metadata reader (already
 * on the classpath for the WebP decoder).
 */
public final class ExifOrientation {

  /** The pixels are stored upright. */
  public static final int NORMAL = 1;

  private ExifOrientation() {}

  /**
   * The Orientation tag of the JPEG's APP1 Exif segment, {@link #NORMAL} when there is none or it
   * is unreadable or out of range (a broken EXIF block must not refuse an otherwise good photo).
   */
  public static int of(byte[] jpeg) {
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(jpeg))) {
      List<JPEGSegment> segments = JPEGSegmentUtil.readSegments(in, JPEG.APP1, "Exif");
      for (JPEGSegment segment : segments) {
        try (InputStream data = segment.data()) {
          byte[] tiff = data.readAllBytes();
          // the identifier is "Exif\0\0": TwelveMonkeys strips "Exif\0", one pad byte is left
          int start = tiff.length > 0 && tiff[0] == 0 ? 1 : 0;
          try (ImageInputStream tiffIn =
              new MemoryCacheImageInputStream(
                  new ByteArrayInputStream(tiff, start, tiff.length - start))) {
            Directory directory = new TIFFReader().read(tiffIn);
            Entry entry = directory.getEntryById(TIFF.TAG_ORIENTATION);
            if (entry != null
                && entry.getValue() instanceof Number n
                && n.intValue() >= 1
                && n.intValue() <= 8) {
              return n.intValue();
            }
          }
        }
      }
      return NORMAL;
    } catch (IOException | RuntimeException e) {
      return NORMAL;
    }
  }

  /**
   * The image turned upright for an Orientation value; the same image for 1 or an unknown value.
   */
  public static BufferedImage apply(BufferedImage image, int orientation) {
    if (orientation < 2 || orientation > 8) {
      return image;
    }
    int w = image.getWidth();
    int h = image.getHeight();
    boolean swap = orientation >= 5;
    int outW = swap ? h : w;
    int outH = swap ? w : h;
    int type =
        image.getColorModel().hasAlpha() ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB;
    BufferedImage out = new BufferedImage(outW, outH, type);
    int[] row = new int[w];
    for (int y = 0; y < h; y++) {
      image.getRGB(0, y, w, 1, row, 0, w);
      for (int x = 0; x < w; x++) {
        int tx;
        int ty;
        switch (orientation) {
          case 2 -> {
            tx = w - 1 - x;
            ty = y;
          } // mirrored horizontally
          case 3 -> {
            tx = w - 1 - x;
            ty = h - 1 - y;
          } // rotated 180
          case 4 -> {
            tx = x;
            ty = h - 1 - y;
          } // mirrored vertically
          case 5 -> {
            tx = y;
            ty = x;
          } // transposed
          case 6 -> {
            tx = h - 1 - y;
            ty = x;
          } // stored rotated 90 counter-clockwise: turn clockwise
          case 7 -> {
            tx = h - 1 - y;
            ty = w - 1 - x;
          } // transversed
          default -> {
            tx = y;
            ty = w - 1 - x;
          } // 8: stored rotated 90 clockwise: turn counter-clockwise
        }
        out.setRGB(tx, ty, row[x]);
      }
    }
    return out;
  }
}
