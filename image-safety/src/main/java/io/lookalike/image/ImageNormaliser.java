package io.lookalike.image;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.apache.kafka.common.config.AbstractConfig;

/**
 * Verifies a photo (type by magic bytes, size, pixel count from the header, complete data), turns
 * it upright by its EXIF orientation and re-encodes it as an RGB JPEG whose longer side is at most
 * {@code maxSidePx}. Stateless and thread-safe: ImageIO readers and writers are created per call,
 * and streams are memory-cached (no temp files).
 */
public final class ImageNormaliser {

  public static final long DEFAULT_MAX_BYTES = 10L * 1024 * 1024;
  public static final long DEFAULT_MAX_PIXELS = 40_000_000L;
  public static final int DEFAULT_MAX_SIDE_PX = 640;
  public static final String MEDIA_TYPE = "image/jpeg";
  private static final float JPEG_QUALITY = 0.9f;

  /**
   * Longer side : shorter side kept at most; a longer photo keeps its centre (chosen before
   * decoding, so its other pixels are never decoded). A model resizes the short side to a fixed
   * size and crops a centred square, so a 20000×2 strip would otherwise become a 160000×256 tensor
   * (~0.5 GB, ~1 s) for a square it then crops; at 4:1 a query costs at most about three normal
   * photos, and what a square-cropping model sees is unchanged.
   */
  public static final int MAX_ASPECT_RATIO = 4;

  static {
    ImageIO
        .scanForPlugins(); // registers the TwelveMonkeys WebP reader where the context class loader
    // differs
  }

  private final long maxBytes;
  private final long maxPixels;
  private final int maxSidePx;

  /** Pixels decoded so far, by all calls: what a photo costs, whatever its header claims. */
  private final java.util.concurrent.atomic.LongAdder decodedPixels =
      new java.util.concurrent.atomic.LongAdder();

  public ImageNormaliser() {
    this(DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE_PX);
  }

  public ImageNormaliser(long maxBytes, long maxPixels, int maxSidePx) {
    if (maxBytes <= 0 || maxPixels <= 0 || maxSidePx <= 0) {
      throw new IllegalArgumentException("limits must be positive");
    }
    this.maxBytes = maxBytes;
    this.maxPixels = maxPixels;
    this.maxSidePx = maxSidePx;
  }

  public static ImageNormaliser from(AbstractConfig config) {
    return new ImageNormaliser(
        config.getLong(ImageSafetyConfig.FETCH_MAX_BYTES_CONFIG),
        config.getLong(ImageSafetyConfig.MAX_PIXELS_CONFIG),
        config.getInt(ImageSafetyConfig.MAX_SIDE_PX_CONFIG));
  }

  public NormalisedImage normalise(byte[] original) throws RejectedImageException {
    return normalise(original, null);
  }

  /**
   * As {@link #normalise(byte[])}, keeping only {@code crop} (null: all) of the upright photo: the
   * region is cut from the decoded, EXIF-oriented pixels before scaling, so it keeps the photo's
   * full resolution. A photo of an aspect ratio beyond {@link #MAX_ASPECT_RATIO} keeps its centre
   * first; the region is then of that centre.
   */
  public NormalisedImage normalise(byte[] original, Region crop) throws RejectedImageException {
    if (original == null || original.length == 0) {
      throw new RejectedImageException(RejectedImageException.EMPTY, "image is empty");
    }
    if (original.length > maxBytes) {
      throw new RejectedImageException(
          RejectedImageException.TOO_LARGE,
          "image of " + original.length + " bytes is larger than " + maxBytes + " bytes");
    }
    String format = sniff(original);
    if (format == null) {
      throw new RejectedImageException(
          RejectedImageException.UNSUPPORTED_TYPE, "not a JPEG, PNG or WebP image");
    }
    String incomplete = ImageIntegrity.incomplete(original, format);
    if (incomplete != null) {
      throw new RejectedImageException(RejectedImageException.CORRUPT_IMAGE, incomplete);
    }
    BufferedImage decoded = decode(original, format);
    if ("jpeg".equals(format)) {
      decoded = ExifOrientation.apply(decoded, ExifOrientation.of(original));
    }
    if (crop != null && !crop.isWhole()) {
      decoded = crop.cut(decoded);
    }
    BufferedImage scaled = scaleOntoWhite(decoded);
    return new NormalisedImage(
        jpeg(scaled), MEDIA_TYPE, scaled.getWidth(), scaled.getHeight(), sha256(original));
  }

  /** Pixels this normaliser has decoded so far (after cropping and subsampling). */
  public long decodedPixels() {
    return decodedPixels.sum();
  }

  /** The ImageIO format name for the magic bytes, or null when neither JPEG, PNG nor WebP. */
  static String sniff(byte[] b) {
    if (b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) {
      return "jpeg";
    }
    if (b.length >= 8
        && (b[0] & 0xff) == 0x89
        && b[1] == 'P'
        && b[2] == 'N'
        && b[3] == 'G'
        && b[4] == 0x0D
        && b[5] == 0x0A
        && b[6] == 0x1A
        && b[7] == 0x0A) {
      return "png";
    }
    if (b.length >= 12
        && b[0] == 'R'
        && b[1] == 'I'
        && b[2] == 'F'
        && b[3] == 'F'
        && b[8] == 'W'
        && b[9] == 'E'
        && b[10] == 'B'
        && b[11] == 'P') {
      return "webp";
    }
    return null;
  }

  private BufferedImage decode(byte[] bytes, String format) throws RejectedImageException {
    Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
    if (!readers.hasNext()) {
      throw new RejectedImageException(
          RejectedImageException.UNSUPPORTED_TYPE, "no reader for " + format);
    }
    ImageReader reader = readers.next();
    ImageIntegrity.Warnings warnings = new ImageIntegrity.Warnings();
    warnings.listenTo(reader);
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      reader.setInput(in, true, true);
      int width;
      int height;
      try {
        width = reader.getWidth(0);
        height = reader.getHeight(0);
      } catch (Exception e) {
        throw new RejectedImageException(
            RejectedImageException.CORRUPT_IMAGE, "unreadable " + format + " header: " + e, e);
      }
      if (width <= 0 || height <= 0) {
        throw new RejectedImageException(
            RejectedImageException.CORRUPT_IMAGE, "image has no pixels");
      }
      if ((long) width * height > maxPixels) {
        throw new RejectedImageException(
            RejectedImageException.TOO_MANY_PIXELS,
            width + "x" + height + " is more than " + maxPixels + " pixels");
      }
      ImageReadParam param = reader.getDefaultReadParam();
      // An extreme aspect ratio keeps its centre, at most MAX_ASPECT_RATIO : 1, before decoding.
      int regionW = (int) Math.min(width, (long) height * MAX_ASPECT_RATIO);
      int regionH = (int) Math.min(height, (long) width * MAX_ASPECT_RATIO);
      if (regionW < width || regionH < height) {
        param.setSourceRegion(
            new java.awt.Rectangle(
                (width - regionW) / 2, (height - regionH) / 2, regionW, regionH));
      }
      // Skip whole rows/columns while decoding very large photos, keeping at least twice the output
      // size so that the halving steps below still average away the aliasing.
      int step = Math.max(regionW, regionH) / (maxSidePx * 2);
      if (step >= 2) {
        param.setSourceSubsampling(step, step, 0, 0);
      }
      BufferedImage image = reader.read(0, param);
      if (image == null) {
        throw new RejectedImageException(RejectedImageException.CORRUPT_IMAGE, "no image decoded");
      }
      decodedPixels.add((long) image.getWidth() * image.getHeight());
      if (warnings.missingData() != null) {
        throw new RejectedImageException(
            RejectedImageException.CORRUPT_IMAGE,
            "incomplete " + format + ": " + warnings.missingData());
      }
      return image;
    } catch (RejectedImageException e) {
      throw e;
    } catch (Exception | LinkageError e) {
      // Decoders throw anything on hostile input: IIOException, ArrayIndexOutOfBounds,
      // IllegalArgument, ...
      throw new RejectedImageException(
          RejectedImageException.CORRUPT_IMAGE, "cannot decode " + format + ": " + e, e);
    } finally {
      reader.dispose();
    }
  }

  /**
   * Flattens transparency onto white and scales down by halving, then one bilinear step to the
   * target.
   */
  private BufferedImage scaleOntoWhite(BufferedImage image) {
    int width = image.getWidth();
    int height = image.getHeight();
    double scale = Math.min(1.0, (double) maxSidePx / Math.max(width, height));
    int targetW = Math.max(1, (int) Math.round(width * scale));
    int targetH = Math.max(1, (int) Math.round(height * scale));

    BufferedImage current = image;
    boolean flattened = false;
    do {
      int w = Math.max(targetW, current.getWidth() / 2);
      int h = Math.max(targetH, current.getHeight() / 2);
      if (current.getWidth() == targetW && current.getHeight() == targetH) {
        w = targetW;
        h = targetH;
      } else if (w < targetW * 2 || h < targetH * 2) {
        w = targetW;
        h = targetH;
      }
      BufferedImage next = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
      Graphics2D g = next.createGraphics();
      try {
        if (!flattened) {
          g.setColor(Color.WHITE);
          g.fillRect(0, 0, w, h);
        }
        g.setRenderingHint(
            RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(current, 0, 0, w, h, null);
      } finally {
        g.dispose();
      }
      current = next;
      flattened = true;
    } while (current.getWidth() != targetW || current.getHeight() != targetH);
    return current;
  }

  private static byte[] jpeg(BufferedImage image) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    try (ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
        MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(JPEG_QUALITY);
      writer.setOutput(out);
      writer.write(null, new IIOImage(image, null, null), param);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException("JPEG encoding failed", e); // in-memory: cannot happen
    } finally {
      writer.dispose();
    }
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
