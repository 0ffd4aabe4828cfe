package io.lookalike.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.SampleImages;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageNormaliserTest {

  private final ImageNormaliser normaliser = new ImageNormaliser();

  @Test
  void shouldNormaliseRealPhotosToJpegWithinMaxSide() throws Exception {
    List<SampleImages.Photo> photos = SampleImages.photos("test", 5);
    for (SampleImages.Photo photo : photos) {
      byte[] original = photo.bytes();
      BufferedImage source = NearDuplicates.decode(original);

      NormalisedImage image = normaliser.normalise(original);

      assertThat(image.mediaType()).isEqualTo("image/jpeg");
      assertThat(ImageNormaliser.sniff(image.bytes())).isEqualTo("jpeg");
      assertThat(Math.max(image.width(), image.height())).isLessThanOrEqualTo(640);
      if (Math.max(source.getWidth(), source.getHeight()) <= 640) {
        assertThat(image.width()).isEqualTo(source.getWidth());
        assertThat(image.height()).isEqualTo(source.getHeight());
      }
      BufferedImage decoded = NearDuplicates.decode(image.bytes());
      assertThat(decoded.getWidth()).isEqualTo(image.width());
      assertThat(image.sha256()).isEqualTo(ImageNormaliser.sha256(original)).hasSize(64);
    }
  }

  @Test
  void shouldScaleLargePhotoDownKeepingAspectRatio() throws Exception {
    BufferedImage big = NearDuplicates.decode(SampleImages.photos("test", 1).get(0).bytes());
    BufferedImage large =
        new BufferedImage(big.getWidth() * 6, big.getHeight() * 6, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = large.createGraphics();
    g.drawImage(big, 0, 0, large.getWidth(), large.getHeight(), null);
    g.dispose();

    NormalisedImage image =
        new ImageNormaliser(
                ImageNormaliser.DEFAULT_MAX_BYTES, ImageNormaliser.DEFAULT_MAX_PIXELS, 320)
            .normalise(NearDuplicates.png(large));

    assertThat(Math.max(image.width(), image.height())).isEqualTo(320);
    double expected = (double) large.getWidth() / large.getHeight();
    assertThat((double) image.width() / image.height())
        .isCloseTo(expected, org.assertj.core.data.Offset.offset(0.02));
  }

  @Test
  void shouldFlattenTransparencyOntoWhite() throws Exception {
    BufferedImage argb =
        new BufferedImage(50, 40, BufferedImage.TYPE_INT_ARGB); // fully transparent
    Graphics2D g = argb.createGraphics();
    g.setColor(Color.BLUE);
    g.fillRect(30, 0, 20, 40);
    g.dispose();

    NormalisedImage image = normaliser.normalise(NearDuplicates.png(argb));

    int corner = NearDuplicates.decode(image.bytes()).getRGB(2, 2) & 0xffffff;
    assertThat((corner >> 16) & 0xff).isGreaterThan(245);
    assertThat(corner & 0xff).isGreaterThan(245);
  }

  @Test
  void shouldDecodeWebp() throws Exception {
    NormalisedImage lossy = normaliser.normalise(resource("/images/photo.webp"));
    NormalisedImage lossless = normaliser.normalise(resource("/images/transparent-corner.webp"));

    assertThat(lossy.width()).isEqualTo(90);
    assertThat(lossy.height()).isEqualTo(160);
    assertThat(lossless.width()).isEqualTo(90);
    int corner = NearDuplicates.decode(lossless.bytes()).getRGB(5, 5) & 0xffffff;
    assertThat(corner & 0xff).isGreaterThan(245); // transparent corner became white
  }

  @Test
  void shouldRejectCorruptJpeg() {
    byte[] corrupt = HostileImages.corruptJpeg(SampleImages.photos("test", 1).get(0).bytes());
    assertRejected(corrupt, "corrupt_image");
  }

  @Test
  void shouldRejectTruncatedJpegAsCorrupt() {
    byte[] photo = SampleImages.photos("test", 1).get(0).bytes();
    assertRejected(HostileImages.truncated(photo, 1.0 / 3), "corrupt_image");
    assertRejected(HostileImages.truncated(photo, 0.9), "corrupt_image");
  }

  @Test
  void shouldRejectTruncatedPngAsCorrupt() {
    byte[] png =
        NearDuplicates.png(NearDuplicates.decode(SampleImages.photos("test", 1).get(0).bytes()));
    assertRejected(HostileImages.truncated(png, 0.5), "corrupt_image");
    assertRejected(
        java.util.Arrays.copyOf(png, png.length - 12), "corrupt_image"); // all pixels, no IEND
  }

  @Test
  void shouldTurnPhonePortraitUprightByExifOrientation() throws Exception {
    BufferedImage upright = NearDuplicates.decode(SampleImages.photos("test", 2).get(1).bytes());
    // what a phone stores for a portrait: the pixels turned 90° counter-clockwise, Orientation=6
    BufferedImage sideways =
        new BufferedImage(upright.getHeight(), upright.getWidth(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < upright.getHeight(); y++) {
      for (int x = 0; x < upright.getWidth(); x++) {
        sideways.setRGB(y, upright.getWidth() - 1 - x, upright.getRGB(x, y));
      }
    }
    byte[] stored = HostileImages.withExifOrientation(NearDuplicates.jpeg(sideways, 0.95f), 6);
    assertThat(ExifOrientation.of(stored)).isEqualTo(6);

    NormalisedImage image = normaliser.normalise(stored);

    assertThat(image.width()).isEqualTo(upright.getWidth());
    assertThat(image.height()).isEqualTo(upright.getHeight());
    BufferedImage result = NearDuplicates.decode(image.bytes());
    assertThat(meanAbsoluteDifference(result, upright)).isLessThan(6.0);
    assertThat(meanAbsoluteDifference(result, rotated180(upright))).isGreaterThan(15.0);
  }

  @Test
  void shouldCropTheUprightPhotoOfAnExifPortrait() throws Exception {
    BufferedImage upright = NearDuplicates.decode(SampleImages.photos("test", 2).get(1).bytes());
    BufferedImage sideways =
        new BufferedImage(upright.getHeight(), upright.getWidth(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < upright.getHeight(); y++) {
      for (int x = 0; x < upright.getWidth(); x++) {
        sideways.setRGB(y, upright.getWidth() - 1 - x, upright.getRGB(x, y));
      }
    }
    byte[] stored = HostileImages.withExifOrientation(NearDuplicates.jpeg(sideways, 0.95f), 6);

    // the top half of the photo as the shopper sees it, upright
    NormalisedImage image = normaliser.normalise(stored, Region.of(0, 0, 1, 0.5));

    BufferedImage topHalf = upright.getSubimage(0, 0, upright.getWidth(), upright.getHeight() / 2);
    assertThat(image.width()).isEqualTo(topHalf.getWidth());
    assertThat(image.height())
        .isCloseTo(topHalf.getHeight(), org.assertj.core.data.Offset.offset(1));
    BufferedImage result = NearDuplicates.decode(image.bytes());
    BufferedImage bottomHalf =
        upright.getSubimage(
            0, upright.getHeight() - result.getHeight(), upright.getWidth(), result.getHeight());
    BufferedImage top = upright.getSubimage(0, 0, upright.getWidth(), result.getHeight());
    assertThat(meanAbsoluteDifference(result, top)).isLessThan(6.0);
    assertThat(meanAbsoluteDifference(result, bottomHalf)).isGreaterThan(10.0);
  }

  @Test
  void shouldIgnoreMissingOrOutOfRangeOrientation() {
    byte[] photo = SampleImages.photos("test", 1).get(0).bytes();
    assertThat(ExifOrientation.of(photo)).isEqualTo(ExifOrientation.NORMAL);
    assertThat(ExifOrientation.of(HostileImages.withExifOrientation(photo, 42)))
        .isEqualTo(ExifOrientation.NORMAL);
  }

  private static BufferedImage rotated180(BufferedImage image) {
    return ExifOrientation.apply(image, 3);
  }

  private static double meanAbsoluteDifference(BufferedImage a, BufferedImage b) {
    long sum = 0;
    for (int y = 0; y < a.getHeight(); y++) {
      for (int x = 0; x < a.getWidth(); x++) {
        int p = a.getRGB(x, y);
        int q = b.getRGB(x, y);
        sum +=
            Math.abs((p >> 16 & 0xff) - (q >> 16 & 0xff))
                + Math.abs((p >> 8 & 0xff) - (q >> 8 & 0xff))
                + Math.abs((p & 0xff) - (q & 0xff));
      }
    }
    return sum / (3.0 * a.getWidth() * a.getHeight());
  }

  @Test
  void shouldRejectZeroBytes() {
    assertRejected(HostileImages.zeroBytes(), "empty");
  }

  @Test
  void shouldRejectTextFileByMagicBytes() {
    assertRejected(HostileImages.textFile(), "unsupported_type");
  }

  @Test
  void shouldRejectTooLargeFile() {
    byte[] photo = SampleImages.photos("test", 1).get(0).bytes();
    assertThatThrownBy(() -> new ImageNormaliser(photo.length - 1, 1000, 640).normalise(photo))
        .isInstanceOfSatisfying(
            RejectedImageException.class, e -> assertThat(e.reasonCode()).isEqualTo("too_large"));
  }

  @Test
  void shouldRefuseHugePngFromHeaderWithoutDecoding() {
    // 20000×20000 would need 1.6 GB decoded; the refusal comes from the header. How long it takes
    // is
    // a benchmark number (ImageNormaliserBench), not an assertion.
    byte[] huge = HostileImages.hugePng(20_000, 20_000);

    assertRejected(huge, "too_many_pixels");
  }

  @Test
  void shouldDecodeOnlyTheCentreOfAnExtremeAspectRatio() throws Exception {
    // 207 bytes, within every limit: before, it became a 640×1 JPEG that the model resized to
    // 163840×256 (~0.5 GB) only to crop a square from it.
    for (byte[] strip :
        List.of(
            HostileImages.hugePng(20_000, 2),
            NearDuplicates.png(new BufferedImage(2, 20_000, BufferedImage.TYPE_BYTE_GRAY)))) {
      ImageNormaliser counted = new ImageNormaliser();

      NormalisedImage image = counted.normalise(strip);

      int longer = Math.max(image.width(), image.height());
      int shorter = Math.min(image.width(), image.height());
      assertThat(longer).isLessThanOrEqualTo(ImageNormaliser.MAX_ASPECT_RATIO * shorter);
      // The centre 8×2 only: never the 40,000 pixels the header announces.
      assertThat(counted.decodedPixels()).isEqualTo(2L * 2 * ImageNormaliser.MAX_ASPECT_RATIO);
    }
  }

  @Test
  void shouldBoundDecodedPixelsOfAWideLargePhotoByTheOutputSize() throws Exception {
    // 9,000,000 pixels at 9:1: the centre 4:1 region (4000×1000), subsampled by 3.
    byte[] wide = NearDuplicates.png(new BufferedImage(9_000, 1_000, BufferedImage.TYPE_BYTE_GRAY));
    ImageNormaliser counted = new ImageNormaliser();

    NormalisedImage image = counted.normalise(wide);

    assertThat(image.width()).isEqualTo(640);
    assertThat(image.height()).isEqualTo(160);
    assertThat(counted.decodedPixels())
        .isLessThanOrEqualTo(
            4L * ImageNormaliser.DEFAULT_MAX_SIDE_PX * ImageNormaliser.DEFAULT_MAX_SIDE_PX);
  }

  private void assertRejected(byte[] bytes, String reason) {
    assertThatThrownBy(() -> normaliser.normalise(bytes))
        .isInstanceOfSatisfying(
            RejectedImageException.class, e -> assertThat(e.reasonCode()).isEqualTo(reason));
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = ImageNormaliserTest.class.getResourceAsStream(name)) {
      return in.readAllBytes();
    }
  }
}
