package io.lookalike.testkit;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/** Bad input that the pipeline must reject with a reason and survive. */
public final class HostileImages {

  private HostileImages() {}

  /**
   * A real JPEG's header followed by garbage: the signature says JPEG, the data cannot be decoded.
   */
  public static byte[] corruptJpeg(byte[] realJpeg) {
    byte[] out = Arrays.copyOf(realJpeg, Math.min(realJpeg.length, 600));
    for (int i = 20; i < out.length; i++) {
      out[i] = (byte) (i * 31 + 7);
    }
    return out;
  }

  /** The first {@code fraction} of a real photo's bytes, as a download cut short leaves it. */
  public static byte[] truncated(byte[] realPhoto, double fraction) {
    return Arrays.copyOf(realPhoto, (int) (realPhoto.length * fraction));
  }

  /**
   * A JPEG with an APP1 Exif segment carrying only the Orientation tag (1–8), as phones write it: a
   * big-endian TIFF header and one IFD with one SHORT entry (tag 0x0112). Inserted after the JFIF
   * APP0 segment when there is one, else right after SOI.
   */
  public static byte[] withExifOrientation(byte[] jpeg, int orientation) {
    ByteArrayOutputStream tiff = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(tiff)) {
      out.writeBytes("Exif");
      out.writeShort(0);
      out.writeBytes("MM");
      out.writeShort(42);
      out.writeInt(8); // first IFD right after the 8-byte header
      out.writeShort(1); // one entry
      out.writeShort(0x0112); // Orientation
      out.writeShort(3); // SHORT
      out.writeInt(1); // count
      out.writeShort(orientation);
      out.writeShort(0); // value padded to 4 bytes
      out.writeInt(0); // no next IFD
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] body = tiff.toByteArray();
    int at = 2;
    if ((jpeg[2] & 0xff) == 0xFF && (jpeg[3] & 0xff) == 0xE0) {
      at = 4 + (((jpeg[4] & 0xff) << 8) | (jpeg[5] & 0xff));
    }
    ByteArrayOutputStream result = new ByteArrayOutputStream(jpeg.length + body.length + 4);
    result.write(jpeg, 0, at);
    result.write(0xFF);
    result.write(0xE1);
    int length = body.length + 2;
    result.write(length >> 8);
    result.write(length & 0xff);
    result.write(body, 0, body.length);
    result.write(jpeg, at, jpeg.length - at);
    return result.toByteArray();
  }

  public static byte[] zeroBytes() {
    return new byte[0];
  }

  /** A text file, as uploaded under the name {@code photo.jpg}. */
  public static byte[] textFile() {
    return "This is not a photo.\nJust some text saved as photo.jpg\n"
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A valid, small PNG whose header declares {@code width × height} pixels (e.g. 20000 × 20000):
   * decoding it would need gigabytes, so it must be refused from the header alone. The image data
   * is all-zero rows, deflated, so the file stays small.
   */
  public static byte[] hugePng(int width, int height) {
    try (ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream data = new DataOutputStream(out)) {
      data.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a});
      ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
      DataOutputStream h = new DataOutputStream(ihdr);
      h.writeInt(width);
      h.writeInt(height);
      h.writeByte(1); // bit depth 1
      h.writeByte(0); // greyscale
      h.writeByte(0);
      h.writeByte(0);
      h.writeByte(0);
      chunk(data, "IHDR", ihdr.toByteArray());
      // Only the first rows of pixel data: enough to look real, small on disk.
      int rowBytes = 1 + (width + 7) / 8;
      byte[] raw = new byte[rowBytes * Math.min(height, 64)];
      Deflater deflater = new Deflater(9);
      deflater.setInput(raw);
      deflater.finish();
      byte[] buf = new byte[raw.length + 64];
      int n = deflater.deflate(buf);
      deflater.end();
      chunk(data, "IDAT", Arrays.copyOf(buf, n));
      chunk(data, "IEND", new byte[0]);
      data.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void chunk(DataOutputStream out, String type, byte[] body) throws IOException {
    byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
    out.writeInt(body.length);
    out.write(typeBytes);
    out.write(body);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(body);
    out.writeInt((int) crc.getValue());
  }
}
