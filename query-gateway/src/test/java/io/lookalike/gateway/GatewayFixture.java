package io.lookalike.gateway;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.testkit.SampleImages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Indexes sample photos as a small catalog and talks to the gateway over HTTP. */
final class GatewayFixture {

  static final String[] BRANDS = {"acme", "nordwear", "zebra"};

  private GatewayFixture() {}

  /**
   * Product {@code p<i>} with image {@code main}: the i-th photo; brand, price and availability
   * vary with i.
   */
  static List<StoredImage> index(
      Embedder embedder, VectorStore store, List<SampleImages.Photo> photos, int batch) {
    List<StoredImage> all = new ArrayList<>();
    for (int from = 0; from < photos.size(); from += batch) {
      List<SampleImages.Photo> slice = photos.subList(from, Math.min(photos.size(), from + batch));
      List<EmbeddingResult> vectors =
          embedder.embed(slice.stream().map(SampleImages.Photo::bytes).toList());
      List<StoredImage> images = new ArrayList<>();
      for (int j = 0; j < slice.size(); j++) {
        int i = from + j;
        images.add(
            image(
                "p" + i,
                "main",
                0,
                vector(vectors.get(j)),
                slice.get(j).path().toUri().toString(),
                slice.get(j).category(),
                i));
      }
      store.write(images, List.of());
      all.addAll(images);
    }
    return all;
  }

  static StoredImage image(
      String productId,
      String imageId,
      int position,
      float[] vector,
      String url,
      String category,
      int i) {
    return new StoredImage(
        new ImageKey(productId, imageId),
        vector,
        1,
        "sha-" + productId + imageId,
        position,
        url,
        1_000L,
        2_000L,
        category + " " + i,
        BRANDS[i % BRANDS.length],
        category,
        10.0 + 5 * i,
        "EUR",
        i % 2 == 0 ? "IN_STOCK" : "OUT_OF_STOCK",
        Map.of());
  }

  static float[] vector(EmbeddingResult result) {
    if (result instanceof EmbeddingResult.Vector v) {
      return v.values();
    }
    throw new IllegalStateException("not embedded: " + result);
  }

  static HttpResponse<String> send(HttpClient http, HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static HttpRequest multipart(
      URI uri, Map<String, String> fields, String fileName, String contentType, byte[] file) {
    String boundary = "lookalike-" + System.nanoTime();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (Map.Entry<String, String> field : fields.entrySet()) {
      write(
          body,
          "--"
              + boundary
              + "\r\nContent-Disposition: form-data; name=\""
              + field.getKey()
              + "\"\r\n\r\n"
              + field.getValue()
              + "\r\n");
    }
    write(
        body,
        "--"
            + boundary
            + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\""
            + fileName
            + "\"\r\nContent-Type: "
            + contentType
            + "\r\n\r\n");
    body.writeBytes(file);
    write(body, "\r\n--" + boundary + "--\r\n");
    return HttpRequest.newBuilder(uri)
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
        .build();
  }

  private static void write(ByteArrayOutputStream out, String text) {
    out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
  }
}
