package io.lookalike.store;

/** One search result: the stored image and its cosine similarity to the query (1 = identical). */
public record SearchHit(StoredImage image, float score) {}
