package io.lookalike.gateway;

import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code GET /v1/images/{productId}/{imageId}} and {@code .../thumbnail}: a result's photo and its
 * card rendition ({@value Thumbnails#THUMBNAIL_SIDE_PX} px), served from the bytes the pipeline
 * holds ({@link Thumbnails}, fed from {@code catalog.product-images}) with {@code ETag} (the
 * image's sha256), {@code Cache-Control} and 304 on a matching {@code If-None-Match}. Without a
 * thumbnail store, or for an image it has not seen yet, it falls back to a file under {@code
 * gateway.images.allowed.dir}; with {@code gateway.images.redirect.http} the original answers 302
 * to the catalog's own http(s) URL.
 *
 * <pre>
 * curl -i http://localhost:8080/v1/images/p42/main/thumbnail
 * curl -i -H 'If-None-Match: "3f9a..."' http://localhost:8080/v1/images/p42/main   # 304
 * </pre>
 */
final class ImageRoutes {

  static final String CACHE_CONTROL = "public, max-age=86400";

  private final SearchService service;
  private final Thumbnails thumbnails;
  private final Path imagesDir;
  private final boolean redirectHttp;

  ImageRoutes(SearchService service, Thumbnails thumbnails, Path imagesDir, boolean redirectHttp) {
    this.service = service;
    this.thumbnails = thumbnails;
    this.imagesDir = imagesDir;
    this.redirectHttp = redirectHttp;
  }

  void original(Context ctx) throws IOException {
    serve(ctx, false);
  }

  void thumbnail(Context ctx) throws IOException {
    serve(ctx, true);
  }

  private void serve(Context ctx, boolean thumbnail) throws IOException {
    ImageKey key;
    try {
      key = new ImageKey(ctx.pathParam("productId"), ctx.pathParam("imageId"));
    } catch (IllegalArgumentException e) {
      throw SearchException.badRequest(e.getMessage());
    }
    VectorStore store = service.activeStore();
    StoredImage image =
        (store == null ? Optional.<StoredImage>empty() : store.get(key))
            .orElseThrow(() -> SearchException.notFound("unknown image: " + key));
    URI uri = null;
    try {
      uri = image.sourceUrl() == null ? null : URI.create(image.sourceUrl());
    } catch (RuntimeException e) {
      // Served from the pipeline's bytes if there are any; no URL to fall back to.
    }
    String scheme =
        uri == null || uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    boolean http = scheme.equals("http") || scheme.equals("https");
    if (!thumbnail && redirectHttp && http) {
      ctx.redirect(uri.toString(), HttpStatus.FOUND);
      return;
    }
    Optional<Thumbnails.Entry> held = thumbnails == null ? Optional.empty() : thumbnails.get(key);
    if (held.isPresent()) {
      Thumbnails.Entry entry = held.get();
      String etag =
          "\"" + entry.sha256() + (thumbnail ? "-" + Thumbnails.THUMBNAIL_SIDE_PX : "") + "\"";
      send(
          ctx,
          etag,
          thumbnail ? "image/jpeg" : entry.mediaType(),
          thumbnail ? entry.thumbnail() : entry.original());
      return;
    }
    if (http) {
      // Not (yet) in the pipeline's copy: the catalog's own URL is the next best thing.
      ctx.redirect(uri.toString(), HttpStatus.FOUND);
      return;
    }
    if (!scheme.equals("file") || imagesDir == null) {
      throw SearchException.notFound("image " + key + " is not available yet");
    }
    Path file;
    try {
      file = Path.of(uri).toRealPath();
    } catch (IOException | RuntimeException e) {
      throw SearchException.notFound("image " + key + " is not available");
    }
    // Resolving links first, so that neither ../ nor a symlink leads out of the allowed directory.
    if (!file.startsWith(imagesDir) || !Files.isRegularFile(file)) {
      throw SearchException.notFound("image " + key + " is not available");
    }
    String etag =
        "\"" + (image.sha256() == null ? Long.toString(image.version()) : image.sha256()) + "\"";
    String type = Files.probeContentType(file);
    send(
        ctx,
        etag,
        type != null && type.startsWith("image/") ? type : "application/octet-stream",
        file);
  }

  private static void send(Context ctx, String etag, String type, Path file) throws IOException {
    ctx.header("Cache-Control", CACHE_CONTROL);
    ctx.header("ETag", etag);
    String ifNoneMatch = ctx.header("If-None-Match");
    if (ifNoneMatch != null
        && (ifNoneMatch.strip().equals("*")
            || java.util.Arrays.stream(ifNoneMatch.split(","))
                .map(String::strip)
                .map(t -> t.startsWith("W/") ? t.substring(2) : t)
                .anyMatch(etag::equals))) {
      ctx.status(HttpStatus.NOT_MODIFIED);
      return;
    }
    ctx.contentType(type);
    ctx.result(Files.readAllBytes(file));
  }
}
