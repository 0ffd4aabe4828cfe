package io.lookalike.gateway;

import io.lookalike.schemas.ImageKey;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;

/**
 * The gateway's own copies of product photos, from the normalised bytes the pipeline already holds
 * ({@code catalog.product-images}), so that every result has an image URL on the gateway whatever
 * way the product came in: the normalised image and a JPEG rendition sized for result cards. Files
 * live in one directory, named by the image's sha256 (identical photos are kept once); which image
 * of which product has which sha256 is kept in memory and rebuilt by replaying the compacted topic.
 */
public final class Thumbnails {

  /** Longest side of the card rendition, in pixels. */
  public static final int THUMBNAIL_SIDE_PX = 256;

  /** One stored image: its sha256 (the ETag), media type and the files of both renditions. */
  public record Entry(String sha256, String mediaType, Path original, Path thumbnail) {}

  private final Path dir;
  private final Map<ImageKey, Entry> entries = new ConcurrentHashMap<>();

  public Thumbnails(Path dir) {
    try {
      this.dir = Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the thumbnail directory " + dir, e);
    }
  }

  /** Keeps the normalised bytes of an image and renders its thumbnail (once per sha256). */
  public void put(ImageKey key, String sha256, String mediaType, byte[] bytes) {
    if (!sha256.matches("[0-9a-fA-F]{16,128}")) {
      throw new IllegalArgumentException("not a sha256: " + sha256);
    }
    String sha = sha256.toLowerCase(java.util.Locale.ROOT);
    Path original = dir.resolve(sha);
    Path thumbnail = dir.resolve(sha + "-" + THUMBNAIL_SIDE_PX + ".jpg");
    try {
      if (!Files.exists(thumbnail)) {
        writeAtomically(original, bytes);
        writeAtomically(thumbnail, render(bytes, THUMBNAIL_SIDE_PX));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot store the thumbnail of " + key, e);
    }
    entries.put(
        key, new Entry(sha, mediaType == null ? "image/jpeg" : mediaType, original, thumbnail));
  }

  /**
   * Forgets an image (its product was deleted or the image replaced); the files stay for other
   * keys.
   */
  public void remove(ImageKey key) {
    entries.remove(key);
  }

  public Optional<Entry> get(ImageKey key) {
    return Optional.ofNullable(entries.get(key));
  }

  public int size() {
    return entries.size();
  }

  /** A JPEG of at most {@code side} pixels on its longest side (never enlarged). */
  static byte[] render(byte[] bytes, int side) throws IOException {
    BufferedImage source = ImageIO.read(new ByteArrayInputStream(bytes));
    if (source == null) {
      throw new IOException("no ImageIO reader for this image");
    }
    double scale = Math.min(1.0, (double) side / Math.max(source.getWidth(), source.getHeight()));
    int w = Math.max(1, (int) Math.round(source.getWidth() * scale));
    int h = Math.max(1, (int) Math.round(source.getHeight() * scale));
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.setColor(java.awt.Color.WHITE);
      g.fillRect(0, 0, w, h);
      g.drawImage(source, 0, 0, w, h, null);
    } finally {
      g.dispose();
    }
    ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
    if (!ImageIO.write(out, "jpg", jpeg)) {
      throw new IOException("no JPEG writer");
    }
    return jpeg.toByteArray();
  }

  private static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
    try {
      Files.write(tmp, bytes);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public String toString() {
    return "Thumbnails[" + dir + ", " + entries.size() + " images]";
  }
}
