package io.lookalike.image;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * The alterations a shopper's photo of a product goes through (cropped, colour-shifted,
 * recompressed): the quality gate's queries, and the tests' altered copies (one copy of the code,
 * so the gate measures what the tests measure). The steps are public for tests that build other
 * alterations.
 */
public final class NearDuplicates {

  private NearDuplicates() {}

  /** Centre crop to 80 % of each side, a small warm colour shift, then JPEG quality 50. */
  public static byte[] of(byte[] original) {
    return jpeg(colourShift(cropCentre(decode(original), 0.8), 12, 4, -10), 0.5f);
  }

  public static BufferedImage decode(byte[] bytes) {
    try {
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
      if (image == null) {
        throw new IllegalArgumentException("not a decodable image");
      }
      return image;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static BufferedImage cropCentre(BufferedImage image, double fraction) {
    int w = (int) Math.round(image.getWidth() * fraction);
    int h = (int) Math.round(image.getHeight() * fraction);
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.drawImage(
        image,
        0,
        0,
        w,
        h,
        (image.getWidth() - w) / 2,
        (image.getHeight() - h) / 2,
        (image.getWidth() - w) / 2 + w,
        (image.getHeight() - h) / 2 + h,
        null);
    g.dispose();
    return out;
  }

  public static BufferedImage colourShift(BufferedImage image, int dr, int dg, int db) {
    BufferedImage out =
        new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y);
        int r = clamp(((rgb >> 16) & 0xff) + dr);
        int g = clamp(((rgb >> 8) & 0xff) + dg);
        int b = clamp((rgb & 0xff) + db);
        out.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    return out;
  }

  public static byte[] jpeg(BufferedImage image, float quality) {
    try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(quality);
      writer.setOutput(out);
      writer.write(null, new IIOImage(image, null, null), param);
      writer.dispose();
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Lossless PNG bytes of an image. */
  public static byte[] png(BufferedImage image) {
    try (ByteArrayOutputStream bytes = new ByteArrayOutputStream()) {
      ImageIO.write(image, "png", bytes);
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
