package io.lookalike.image;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What happens to a product photo before a shopper searches with it, beyond {@link NearDuplicates}'
 * mild edit: the product small in someone else's photo, a price sticker over it, a tight crop. The
 * quality gate and {@code RelevanceBench} query with these; each returns JPEG bytes (quality 90
 * unless the alteration is the compression itself).
 */
public final class HardAlterations {

  /** Share of the background's shorter side the pasted product's longer side takes. */
  public static final double PASTE_FRACTION = 0.4;

  private HardAlterations() {}

  /** The product at 40 % of the frame, pasted off-centre into another (busy) photo. */
  public static byte[] pastedIntoScene(byte[] product, byte[] scene) {
    BufferedImage background = NearDuplicates.decode(scene);
    return NearDuplicates.jpeg(
        paste(NearDuplicates.decode(product), copy(background), 0.3, 0.35), 0.9f);
  }

  /** The product at 40 % of a plain white frame of the product photo's size, in the centre. */
  public static byte[] pastedOnWhite(byte[] product) {
    BufferedImage p = NearDuplicates.decode(product);
    BufferedImage white =
        new BufferedImage(p.getWidth(), p.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = white.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, white.getWidth(), white.getHeight());
    g.dispose();
    return NearDuplicates.jpeg(paste(p, white, 0.5, 0.5), 0.9f);
  }

  /**
   * A price banner across the lower third and a "SALE" tag in a corner, as shops and ads print
   * them.
   */
  public static byte[] textOverlay(byte[] product) {
    BufferedImage image = copy(NearDuplicates.decode(product));
    int w = image.getWidth();
    int h = image.getHeight();
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(
        RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(new Color(200, 0, 0, 210));
    g.fillRect(0, (int) (h * 0.62), w, (int) (h * 0.14));
    g.setColor(Color.WHITE);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(10, h / 12)));
    g.drawString("NOW ONLY 19.99 EUR", (int) (w * 0.05), (int) (h * 0.73));
    g.setColor(Color.YELLOW);
    g.fillOval((int) (w * 0.66), (int) (h * 0.04), (int) (w * 0.3), (int) (w * 0.3));
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(2));
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(8, w / 14)));
    g.drawString("SALE", (int) (w * 0.70), (int) (h * 0.04 + w * 0.17));
    g.dispose();
    return NearDuplicates.jpeg(image, 0.9f);
  }

  /** The middle 60 % of each side. */
  public static byte[] centreCrop60(byte[] product) {
    return NearDuplicates.jpeg(
        NearDuplicates.cropCentre(NearDuplicates.decode(product), 0.6), 0.9f);
  }

  public static byte[] jpegQuality15(byte[] product) {
    return NearDuplicates.jpeg(copy(NearDuplicates.decode(product)), 0.15f);
  }

  public static byte[] grey(byte[] product) {
    BufferedImage image = NearDuplicates.decode(product);
    BufferedImage out =
        new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y);
        int l =
            (int)
                Math.round(
                    0.299 * (rgb >> 16 & 0xff) + 0.587 * (rgb >> 8 & 0xff) + 0.114 * (rgb & 0xff));
        out.setRGB(x, y, l << 16 | l << 8 | l);
      }
    }
    return NearDuplicates.jpeg(out, 0.9f);
  }

  public static byte[] mirrored(byte[] product) {
    BufferedImage image = NearDuplicates.decode(product);
    BufferedImage out =
        new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.drawImage(image, image.getWidth(), 0, -image.getWidth(), image.getHeight(), null);
    g.dispose();
    return NearDuplicates.jpeg(out, 0.9f);
  }

  /** Turned 10° about the centre, the uncovered corners white. */
  public static byte[] rotated10(byte[] product) {
    BufferedImage image = NearDuplicates.decode(product);
    BufferedImage out =
        new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, out.getWidth(), out.getHeight());
    g.setRenderingHint(
        RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(
        image,
        AffineTransform.getRotateInstance(
            Math.toRadians(10), image.getWidth() / 2.0, image.getHeight() / 2.0),
        null);
    g.dispose();
    return NearDuplicates.jpeg(out, 0.9f);
  }

  /** Every alteration that needs only the product photo, by name, in a fixed order. */
  public static Map<String, java.util.function.UnaryOperator<byte[]>> singlePhoto() {
    Map<String, java.util.function.UnaryOperator<byte[]>> all = new LinkedHashMap<>();
    all.put("near-duplicate", NearDuplicates::of);
    all.put("on-white-40%", HardAlterations::pastedOnWhite);
    all.put("text-overlay", HardAlterations::textOverlay);
    all.put("crop-60%", HardAlterations::centreCrop60);
    all.put("jpeg-q15", HardAlterations::jpegQuality15);
    all.put("grey", HardAlterations::grey);
    all.put("flip", HardAlterations::mirrored);
    all.put("rotate-10", HardAlterations::rotated10);
    return all;
  }

  private static BufferedImage paste(
      BufferedImage product, BufferedImage background, double cx, double cy) {
    double scale =
        PASTE_FRACTION
            * Math.min(background.getWidth(), background.getHeight())
            / Math.max(product.getWidth(), product.getHeight());
    int w = Math.max(1, (int) Math.round(product.getWidth() * scale));
    int h = Math.max(1, (int) Math.round(product.getHeight() * scale));
    int x = (int) Math.round(background.getWidth() * cx - w / 2.0);
    int y = (int) Math.round(background.getHeight() * cy - h / 2.0);
    Graphics2D g = background.createGraphics();
    g.setRenderingHint(
        RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(product, Math.max(0, x), Math.max(0, y), w, h, null);
    g.dispose();
    return background;
  }

  private static BufferedImage copy(BufferedImage image) {
    BufferedImage out =
        new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.drawImage(image, 0, 0, null);
    g.dispose();
    return out;
  }
}
