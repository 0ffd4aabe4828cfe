package io.lookalike.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * "Like this, but <brand/category>" on the local mode's sample catalog: indexes its 250 products
 * with the real model, then prints the top 10 for one photo alone and fused with a text q, and how
 * many of them match the words.
 *
 * <pre>
 * ./mvnw -q -pl query-gateway test-compile exec:java -Dbench=io.lookalike.gateway.TextFusionDemo -Dai.djl.offline=true
 * </pre>
 */
public final class TextFusionDemo {

  private TextFusionDemo() {}

  public static void main(String[] args) throws Exception {
    Path catalog =
        Path.of(
            args.length > 0
                ? args[0]
                : "../deploy/local/src/main/resources/lookalike/sample-catalog");
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> products = new ArrayList<>();
    for (String line : Files.readAllLines(catalog.resolve("catalog.jsonl"))) {
      if (!line.isBlank()) {
        products.add(json.readTree(line));
      }
    }
    Path dir = Files.createTempDirectory("text-fusion-demo");
    ImageNormaliser normaliser = new ImageNormaliser(10L << 20, 40_000_000L, 640);
    try (DjlEmbedder embedder = DjlEmbedder.loadDefault();
        LuceneVectorStore store =
            LuceneVectorStore.open(dir, embedder.model().modelId(), embedder.model().dimension())) {
      Map<String, byte[]> photos = new TreeMap<>();
      for (int from = 0; from < products.size(); from += 32) {
        List<JsonNode> slice = products.subList(from, Math.min(products.size(), from + 32));
        List<byte[]> bytes = new ArrayList<>();
        for (JsonNode p : slice) {
          byte[] photo =
              Files.readAllBytes(catalog.resolve(p.get("images").get(0).get("url").asText()));
          bytes.add(normaliser.normalise(photo).bytes());
          photos.put(p.get("productId").asText(), photo);
        }
        List<EmbeddingResult> vectors = embedder.embed(bytes);
        List<StoredImage> images = new ArrayList<>();
        for (int i = 0; i < slice.size(); i++) {
          JsonNode p = slice.get(i);
          Map<String, String> attributes = new TreeMap<>();
          p.path("attributes")
              .fields()
              .forEachRemaining(e -> attributes.put(e.getKey(), e.getValue().asText()));
          images.add(
              new StoredImage(
                  new ImageKey(p.get("productId").asText(), "main"),
                  ((EmbeddingResult.Vector) vectors.get(i)).values(),
                  1,
                  "demo",
                  0,
                  "demo",
                  0,
                  0,
                  p.get("title").asText(),
                  p.get("brand").asText(),
                  p.get("category").asText(),
                  p.get("price").asDouble(),
                  "EUR",
                  p.get("availability").asText(),
                  attributes));
        }
        store.write(images, List.of());
      }
      SearchService service =
          new SearchService(
              () -> new ActiveModel(embedder, store),
              PhotoValidator.of(normaliser),
              url -> {
                throw new UnsupportedOperationException();
              },
              10,
              100);
      System.out.printf("Indexed %d sample products into %s%n%n", store.count(), dir);
      int[] queries = {0, 30, 60, 120};
      int better = 0;
      int total = 0;
      for (int q : queries) {
        JsonNode product = products.get(q);
        String own = product.get("brand").asText();
        String wanted =
            products.stream()
                .map(p -> p.get("brand").asText())
                .filter(b -> !b.equals(own))
                .findFirst()
                .orElseThrow();
        byte[] photo = photos.get(product.get("productId").asText());
        SearchResponse visual = service.byPhoto(photo, SearchRequest.of(10, SearchFilter.NONE));
        SearchResponse fused =
            service.byPhoto(
                photo, new SearchRequest(10, SearchFilter.NONE, wanted, null, null, Boosts.NONE));
        long before = visual.results().stream().filter(m -> m.brand().equals(wanted)).count();
        long after = fused.results().stream().filter(m -> m.brand().equals(wanted)).count();
        long sameCategoryAfter =
            fused.results().stream()
                .filter(m -> m.category().equals(product.get("category").asText()))
                .count();
        long sameCategoryBefore =
            visual.results().stream()
                .filter(m -> m.category().equals(product.get("category").asText()))
                .count();
        System.out.printf(
            "Photo of %s (%s %s), q=\"%s\"%n",
            product.get("productId").asText(), own, product.get("category").asText(), wanted);
        System.out.printf("  photo only : %s%n", describe(visual));
        System.out.printf("  photo + q  : %s%n", describe(fused));
        System.out.printf(
            "  %s in the top 10: %d -> %d; same category as the photo: %d -> %d%n%n",
            wanted, before, after, sameCategoryBefore, sameCategoryAfter);
        better += after > before ? 1 : 0;
        total++;
      }
      System.out.printf("The asked brand rose in the top 10 for %d of %d photos%n", better, total);
    }
  }

  private static String describe(SearchResponse response) {
    List<String> parts = new ArrayList<>();
    for (SearchResponse.Match m : response.results()) {
      parts.add(m.brand() + "/" + m.category());
    }
    return String.join(", ", parts);
  }
}
