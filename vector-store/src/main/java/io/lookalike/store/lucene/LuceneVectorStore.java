package io.lookalike.store.lucene;

import io.lookalike.schemas.ImageKey;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.store.VersionedWrites;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.lucene99.Lucene99HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The embedded vector store: one Lucene HNSW index on disk per model, for the single-node mode. */
public final class LuceneVectorStore implements VectorStore {

  private static final Logger log = LoggerFactory.getLogger(LuceneVectorStore.class);

  /**
   * HNSW graph parameters: neighbours per node and beam width while building (Lucene's defaults).
   */
  public static final int HNSW_MAX_CONN = 16;

  public static final int HNSW_BEAM_WIDTH = 100;

  /**
   * Lucene's default limit is 1024; image models commonly emit 1280 (EfficientNet, MobileNetV2) or
   * 2048.
   */
  public static final int MAX_DIMENSION = 4096;

  private static final String MODEL_ID = "lookalike.modelId";
  private static final String DIMENSION = "lookalike.dimension";

  private static final String KEY = "key";
  private static final String PRODUCT_ID = "productId";
  private static final String VECTOR = "vector";
  private static final String VERSION = "version";
  private static final String SHA256 = "sha256";
  private static final String POSITION = "position";
  private static final String SOURCE_URL = "sourceUrl";
  private static final String OCCURRED_AT = "occurredAt";
  private static final String EMBEDDED_AT = "embeddedAt";
  private static final String TITLE = "title";
  private static final String BRAND = "brand";
  private static final String CATEGORY = "category";
  private static final String PRICE = "price";
  private static final String CURRENCY = "currency";
  private static final String AVAILABILITY = "availability";

  /**
   * Analysed (BM25) copies of the product's text, by field, and how much a match in each counts.
   */
  private static final Map<String, Float> TEXT_FIELDS =
      Map.of(
          "text.title", 1.0f, "text.brand", 2.0f, "text.category", 2.0f, "text.attributes", 1.0f);

  /** Lowercased, indexed copies of the filterable strings. */
  private static final String FILTER_PREFIX = "filter.";

  private static final String ATTRIBUTE_PREFIX = "attr.";

  private static final Analyzer ANALYZER = new StandardAnalyzer();

  /**
   * How the index is built; {@link #DEFAULTS} unless a caller (a benchmark) asks otherwise. Any
   * index directory opens with any options: each segment names its vector format, which Lucene
   * finds by SPI when reading, and merges rewrite segments into the configured format.
   *
   * @param ramBufferMb indexing buffer; a segment is flushed when it is full or at a refresh
   * @param mergeWorkers threads that insert vectors into the merged HNSW graph (1: the merge thread
   *     alone)
   * @param quantizedBits 0: float vectors in the graph; 7 or 4: {@code
   *     Lucene99HnswScalarQuantizedVectorsFormat} (int7/int4 graph, floats still stored for
   *     re-ranking)
   * @param maxMergedSegmentMb the largest segment a natural merge makes ({@code
   *     TieredMergePolicy}); larger means fewer segments to search but longer graph rebuilds
   * @param indexThreads threads that add one write's documents (each builds a graph of its own,
   *     which is where indexing spends its time); a key always goes to the same thread, so the
   *     order of its changes is kept
   */
  public record Options(
      double ramBufferMb,
      int mergeWorkers,
      int quantizedBits,
      double maxMergedSegmentMb,
      int indexThreads) {
    public Options {
      if (indexThreads < 1) {
        throw new IllegalArgumentException("indexThreads must be at least 1: " + indexThreads);
      }
      if (ramBufferMb < 1) {
        throw new IllegalArgumentException("ramBufferMb must be at least 1: " + ramBufferMb);
      }
      if (mergeWorkers < 1) {
        throw new IllegalArgumentException("mergeWorkers must be at least 1: " + mergeWorkers);
      }
      if (quantizedBits != 0 && quantizedBits != 4 && quantizedBits != 7) {
        throw new IllegalArgumentException("quantizedBits must be 0, 4 or 7: " + quantizedBits);
      }
    }

    public Options withQuantizedBits(int bits) {
      return new Options(ramBufferMb, mergeWorkers, bits, maxMergedSegmentMb, indexThreads);
    }

    public Options withMergeWorkers(int workers) {
      return new Options(ramBufferMb, workers, quantizedBits, maxMergedSegmentMb, indexThreads);
    }

    public Options withIndexThreads(int threads) {
      return new Options(ramBufferMb, mergeWorkers, quantizedBits, maxMergedSegmentMb, threads);
    }
  }

  /**
   * 64 MB of buffer (~20k vectors of 768-d before a flush on its own), merges and writes helped by
   * up to 2 threads, float vectors, segments up to 5 GB (Lucene's default).
   */
  public static final Options DEFAULTS =
      new Options(
          64,
          Math.min(2, Runtime.getRuntime().availableProcessors()),
          0,
          5 * 1024,
          Math.min(2, Runtime.getRuntime().availableProcessors()));

  /** Batches smaller than this are added by the calling thread alone. */
  private static final int PARALLEL_WRITE_MIN = 64;

  private final String modelId;
  private final int dimension;
  private final Directory directory;
  private final IndexWriter writer;
  private final SearcherManager searchers;
  private final ExecutorService mergeExecutor;
  private final VectorSimilarityFunction similarity;
  private final Options options;
  private final ExecutorService indexExecutor;
  private final Object writeLock = new Object();

  private LuceneVectorStore(
      String modelId,
      int dimension,
      Directory directory,
      IndexWriter writer,
      ExecutorService mergeExecutor,
      VectorSimilarityFunction similarity,
      Options options)
      throws IOException {
    this.similarity = similarity;
    this.options = options;
    this.indexExecutor =
        options.indexThreads() > 1
            ? Executors.newFixedThreadPool(
                options.indexThreads() - 1, daemon("lucene-index-" + modelId))
            : null;
    this.modelId = modelId;
    this.dimension = dimension;
    this.directory = directory;
    this.writer = writer;
    this.mergeExecutor = mergeExecutor;
    this.searchers = new SearcherManager(writer, null);
  }

  /**
   * Opens (or creates) the index of one model in {@code dir} (one directory per model, e.g. {@code
   * root.resolve(modelId)}). Fails if the directory holds the index of another model or dimension.
   */
  public static LuceneVectorStore open(Path dir, String modelId, int dimension) {
    return open(dir, modelId, dimension, DEFAULTS);
  }

  /** {@link #open(Path, String, int)} with other build options (benchmarks compare them). */
  public static LuceneVectorStore open(Path dir, String modelId, int dimension, Options options) {
    if (modelId == null || modelId.isBlank()) {
      throw new IllegalArgumentException("modelId must not be empty");
    }
    VersionedWrites.checkDimension(dimension, MAX_DIMENSION);
    Directory directory = null;
    ExecutorService mergeExecutor = null;
    try {
      Files.createDirectories(dir);
      directory = FSDirectory.open(dir);
      if (DirectoryReader.indexExists(directory)) {
        Map<String, String> userData = SegmentInfos.readLatestCommit(directory).getUserData();
        String storedModel = userData.get(MODEL_ID);
        String storedDimension = userData.get(DIMENSION);
        if (!modelId.equals(storedModel) || !Integer.toString(dimension).equals(storedDimension)) {
          throw new IllegalStateException(
              "Index "
                  + dir
                  + " holds vectors of model "
                  + storedModel
                  + " with dimension "
                  + storedDimension
                  + ", not of model "
                  + modelId
                  + " with dimension "
                  + dimension
                  + "; use one directory per model");
        }
      }
      VectorSimilarityFunction similarity = similarityOf(directory);
      mergeExecutor = options.mergeWorkers() > 1 ? mergeThreads(modelId) : null;
      TieredMergePolicy merges = new TieredMergePolicy();
      merges.setMaxMergedSegmentMB(options.maxMergedSegmentMb());
      IndexWriterConfig config =
          new IndexWriterConfig(ANALYZER)
              .setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND)
              .setRAMBufferSizeMB(options.ramBufferMb())
              .setMergePolicy(merges)
              .setCodec(codec(options, mergeExecutor));
      IndexWriter writer = new IndexWriter(directory, config);
      writer.setLiveCommitData(
          Map.of(MODEL_ID, modelId, DIMENSION, Integer.toString(dimension)).entrySet());
      writer.commit();
      LuceneVectorStore store =
          new LuceneVectorStore(
              modelId, dimension, directory, writer, mergeExecutor, similarity, options);
      log.info(
          "Opened Lucene index {} of model {} ({} dimensions, {} images)",
          dir,
          modelId,
          dimension,
          store.count());
      return store;
    } catch (IOException e) {
      closeQuietly(directory, mergeExecutor);
      throw new UncheckedIOException("Cannot open the Lucene index in " + dir, e);
    } catch (RuntimeException e) {
      closeQuietly(directory, mergeExecutor);
      throw e;
    }
  }

  /**
   * DOT_PRODUCT for a new index: on unit vectors it ranks and scores exactly as COSINE ((1 + cos) /
   * 2), at a third of the arithmetic (one sum instead of three), and comparing vectors is where
   * building the graph spends its time (~85 % of a profile). An index made before keeps the COSINE
   * it was made with: Lucene refuses to change a field's similarity.
   */
  private static VectorSimilarityFunction similarityOf(Directory directory) throws IOException {
    if (DirectoryReader.indexExists(directory)) {
      try (DirectoryReader reader = DirectoryReader.open(directory)) {
        org.apache.lucene.index.FieldInfo field =
            org.apache.lucene.index.FieldInfos.getMergedFieldInfos(reader).fieldInfo(VECTOR);
        if (field != null && field.hasVectorValues()) {
          return field.getVectorSimilarityFunction();
        }
      }
    }
    return VectorSimilarityFunction.DOT_PRODUCT;
  }

  private static ExecutorService mergeThreads(String modelId) {
    return Executors.newCachedThreadPool(daemon("lucene-hnsw-merge-" + modelId));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger count = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * The dimension of the index of {@code modelId} in {@code dir}, or empty when there is none yet
   * (so that a sink that has seen only tombstones can tell there is nothing to delete).
   */
  public static java.util.OptionalInt existingDimension(Path dir, String modelId) {
    if (!Files.isDirectory(dir)) {
      return java.util.OptionalInt.empty();
    }
    try (Directory directory = FSDirectory.open(dir)) {
      if (!DirectoryReader.indexExists(directory)) {
        return java.util.OptionalInt.empty();
      }
      Map<String, String> userData = SegmentInfos.readLatestCommit(directory).getUserData();
      String dimension = userData.get(DIMENSION);
      return modelId.equals(userData.get(MODEL_ID)) && dimension != null
          ? java.util.OptionalInt.of(Integer.parseInt(dimension))
          : java.util.OptionalInt.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the Lucene index in " + dir, e);
    }
  }

  @Override
  public String modelId() {
    return modelId;
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public WriteResult write(Collection<StoredImage> upserts, Collection<ImageKey> deletes) {
    synchronized (writeLock) {
      try {
        IndexSearcher searcher = searchers.acquire();
        try {
          // The searcher shows every earlier write: writes are serialised and each ends with a
          // refresh.
          VersionedWrites plan =
              VersionedWrites.plan(
                  upserts,
                  deletes,
                  key -> {
                    try {
                      return storedVersion(searcher, key);
                    } catch (IOException e) {
                      throw new UncheckedIOException(e);
                    }
                  },
                  dimension,
                  modelId);
          addAll(plan.upserts());
          for (ImageKey imageKey : plan.deletes()) {
            writer.deleteDocuments(new Term(KEY, imageKey.toString()));
          }
          WriteResult result = plan.result();
          if (result.upserted() + result.deleted() > 0) {
            // A near-real-time reopen: the batch becomes a segment the searchers see, written but
            // not fsynced; flush() makes it durable. A commit (fsync of every new file) per batch
            // cost more than the indexing itself at small batches.
            searchers.maybeRefreshBlocking();
          }
          return result;
        } finally {
          searchers.release(searcher);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot write to the Lucene index of model " + modelId, e);
      }
    }
  }

  private void addAll(List<StoredImage> upserts) throws IOException {
    if (indexExecutor == null || upserts.size() < PARALLEL_WRITE_MIN) {
      add(upserts);
      return;
    }
    int threads = options.indexThreads();
    List<List<StoredImage>> parts = new ArrayList<>(threads);
    for (int t = 0; t < threads; t++) {
      parts.add(new ArrayList<>(upserts.size() / threads + 1));
    }
    for (StoredImage image : upserts) {
      parts.get(Math.floorMod(image.key().hashCode(), threads)).add(image);
    }
    List<java.util.concurrent.Future<?>> others = new ArrayList<>();
    for (List<StoredImage> part : parts.subList(1, threads)) {
      others.add(
          indexExecutor.submit(
              () -> {
                add(part);
                return null;
              }));
    }
    add(parts.get(0));
    IOException failure = null;
    for (java.util.concurrent.Future<?> other : others) {
      try {
        other.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure = new java.io.InterruptedIOException("Interrupted while indexing");
      } catch (java.util.concurrent.ExecutionException e) {
        failure =
            e.getCause() instanceof IOException io
                ? io
                : new IOException("Cannot index into model " + modelId, e.getCause());
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private void add(List<StoredImage> upserts) throws IOException {
    for (StoredImage image : upserts) {
      writer.updateDocument(new Term(KEY, image.key().toString()), toDocument(image, similarity));
    }
  }

  /**
   * Commits: every write that has returned survives a crash of this process or machine once this
   * returns. Cheap when nothing changed since the last one.
   */
  @Override
  public void flush() {
    synchronized (writeLock) {
      try {
        if (writer.hasUncommittedChanges()) {
          writer.commit();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot commit the Lucene index of model " + modelId, e);
      }
    }
  }

  @Override
  public List<SearchHit> search(float[] query, int k, SearchFilter filter) {
    checkDimension(query);
    if (k < 1) {
      throw new IllegalArgumentException("k must be positive: " + k);
    }
    // HNSW recall at k=10 is ~0.88 when it explores k candidates; exploring 40 more (50 at k=10)
    // gives ~0.99. Large k need no 4x: the beam's extra width matters for the last few of the k.
    int candidates = k + Math.max(k, 40);
    Query knn =
        new KnnFloatVectorQuery(
            VECTOR,
            similarity == VectorSimilarityFunction.DOT_PRODUCT ? unit(query) : query,
            candidates,
            toQuery(filter));
    return withSearcher(
        searcher -> {
          TopDocs top = searcher.search(knn, candidates);
          if (options.quantizedBits() > 0) {
            rerank(searcher, top.scoreDocs, query);
          }
          List<SearchHit> hits = new ArrayList<>(Math.min(k, top.scoreDocs.length));
          for (ScoreDoc doc : top.scoreDocs) {
            if (hits.size() == k) {
              break;
            }
            // Lucene scores COSINE as (1 + cos) / 2, and DOT_PRODUCT of unit vectors the same.
            hits.add(new SearchHit(load(searcher, doc.doc), 2 * doc.score - 1));
          }
          return hits;
        });
  }

  /**
   * A quantised graph scores candidates approximately: score them again with the stored float
   * vectors (a few dozen reads) and sort, which brings recall@10 back to the float graph's.
   */
  private void rerank(IndexSearcher searcher, ScoreDoc[] docs, float[] query) throws IOException {
    float[] unitQuery = unit(query);
    for (ScoreDoc doc : docs) {
      float[] stored = vector(searcher, doc.doc);
      doc.score = similarity.compare(unitQuery, unit(stored));
    }
    java.util.Arrays.sort(docs, (a, b) -> Float.compare(b.score, a.score));
  }

  @Override
  public List<SearchHit> searchText(String text, int k, SearchFilter filter) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be positive: " + k);
    }
    List<String> terms = analyse(text);
    if (terms.isEmpty()) {
      return List.of();
    }
    BooleanQuery.Builder match = new BooleanQuery.Builder();
    for (String term : terms) {
      TEXT_FIELDS.forEach(
          (field, boost) ->
              match.add(new BoostQuery(new TermQuery(new Term(field, term)), boost), Occur.SHOULD));
    }
    BooleanQuery.Builder query = new BooleanQuery.Builder().add(match.build(), Occur.MUST);
    Query restrict = toQuery(filter);
    if (restrict != null) {
      query.add(restrict, Occur.FILTER);
    }
    Query built = query.build();
    return withSearcher(
        searcher -> {
          List<SearchHit> hits = new ArrayList<>();
          for (ScoreDoc doc : searcher.search(built, k).scoreDocs) {
            hits.add(new SearchHit(load(searcher, doc.doc), doc.score));
          }
          return hits;
        });
  }

  /** The tokens of a text as the text fields index them (StandardAnalyzer: words, lowercased). */
  private static List<String> analyse(String text) {
    List<String> terms = new ArrayList<>();
    if (text == null) {
      return terms;
    }
    try (TokenStream tokens = ANALYZER.tokenStream("text.title", text)) {
      CharTermAttribute term = tokens.addAttribute(CharTermAttribute.class);
      tokens.reset();
      while (tokens.incrementToken()) {
        if (!terms.contains(term.toString())) {
          terms.add(term.toString());
        }
      }
      tokens.end();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return terms;
  }

  @Override
  public List<StoredImage> imagesOf(String productId) {
    return withSearcher(
        searcher -> {
          List<StoredImage> images = new ArrayList<>();
          for (ScoreDoc doc :
              searcher.search(new TermQuery(new Term(PRODUCT_ID, productId)), 10_000).scoreDocs) {
            images.add(load(searcher, doc.doc));
          }
          images.sort(
              Comparator.comparingInt(StoredImage::position).thenComparing(StoredImage::imageId));
          return images;
        });
  }

  @Override
  public Optional<StoredImage> get(ImageKey key) {
    return withSearcher(
        searcher -> {
          ScoreDoc[] docs =
              searcher.search(new TermQuery(new Term(KEY, key.toString())), 1).scoreDocs;
          return docs.length == 0 ? Optional.empty() : Optional.of(load(searcher, docs[0].doc));
        });
  }

  /** Every (maxDoc / n)-th live document. */
  @Override
  public List<StoredImage> sample(int n) {
    return withSearcher(
        searcher -> {
          org.apache.lucene.index.IndexReader reader = searcher.getIndexReader();
          int max = reader.maxDoc();
          List<StoredImage> out = new ArrayList<>();
          if (max == 0 || n <= 0) {
            return out;
          }
          org.apache.lucene.util.Bits live = org.apache.lucene.index.MultiBits.getLiveDocs(reader);
          double step = Math.max(1.0, max / (double) n);
          for (double d = 0; d < max && out.size() < n; d += step) {
            int doc = (int) d;
            if (live == null || live.get(doc)) {
              out.add(load(searcher, doc));
            }
          }
          return out;
        });
  }

  @Override
  public long count() {
    return withSearcher(searcher -> (long) searcher.getIndexReader().numDocs());
  }

  /**
   * Merges the index into one segment and waits for it: searches get several times faster after a
   * bulk load (e.g. a re-embed before the switch), but the merge rebuilds the HNSW graph, so it
   * takes about as long as indexing everything again. Writes wait meanwhile.
   */
  public void optimize() {
    synchronized (writeLock) {
      try {
        writer.forceMerge(1);
        writer.commit();
        searchers.maybeRefreshBlocking();
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot merge the Lucene index of model " + modelId, e);
      }
    }
  }

  /** Number of index segments; each is searched on its own, so fewer means faster searches. */
  public int segmentCount() {
    return withSearcher(searcher -> searcher.getIndexReader().leaves().size());
  }

  @Override
  public void close() {
    synchronized (writeLock) {
      try {
        searchers.close();
        writer.close(); // commits
        directory.close();
        if (mergeExecutor != null) {
          mergeExecutor.shutdown();
        }
        if (indexExecutor != null) {
          indexExecutor.shutdown();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot close the Lucene index of model " + modelId, e);
      }
    }
  }

  @Override
  public String toString() {
    return "LuceneVectorStore[" + modelId + ", " + directory + "]";
  }

  private static Codec codec(Options options, ExecutorService mergeExecutor) {
    int workers = mergeExecutor == null ? 1 : options.mergeWorkers();
    KnnVectorsFormat hnsw =
        options.quantizedBits() == 0
            ? new Lucene99HnswVectorsFormat(HNSW_MAX_CONN, HNSW_BEAM_WIDTH, workers, mergeExecutor)
            : new Lucene99HnswScalarQuantizedVectorsFormat(
                HNSW_MAX_CONN,
                HNSW_BEAM_WIDTH,
                workers,
                options.quantizedBits(),
                options.quantizedBits() == 4, // int4 is packed two per byte when compressed
                null, // confidence interval chosen by Lucene for the bits
                mergeExecutor);
    // Same name as the wrapped format, so that readers find it by SPI; only the dimension limit
    // differs.
    KnnVectorsFormat format =
        new KnnVectorsFormat(hnsw.getName()) {
          @Override
          public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
            return hnsw.fieldsWriter(state);
          }

          @Override
          public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
            return hnsw.fieldsReader(state);
          }

          @Override
          public int getMaxDimensions(String fieldName) {
            return MAX_DIMENSION;
          }
        };
    return new Lucene912Codec() {
      @Override
      public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
        return format;
      }
    };
  }

  private void checkDimension(float[] vector) {
    VersionedWrites.checkVector(vector, dimension, modelId);
  }

  private static Long storedVersion(IndexSearcher searcher, String key) throws IOException {
    ScoreDoc[] docs = searcher.search(new TermQuery(new Term(KEY, key)), 1).scoreDocs;
    if (docs.length == 0) {
      return null;
    }
    int doc = docs[0].doc;
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(doc, leaves));
    NumericDocValues versions = leaf.reader().getNumericDocValues(VERSION);
    return versions != null && versions.advanceExact(doc - leaf.docBase)
        ? versions.longValue()
        : null;
  }

  private static Document toDocument(StoredImage image, VectorSimilarityFunction similarity) {
    Document doc = new Document();
    doc.add(new StringField(KEY, image.key().toString(), Field.Store.YES));
    doc.add(new StringField(PRODUCT_ID, image.productId(), Field.Store.NO));
    float[] vector =
        similarity == VectorSimilarityFunction.DOT_PRODUCT ? unit(image.vector()) : image.vector();
    doc.add(new KnnFloatVectorField(VECTOR, vector, similarity));
    doc.add(new NumericDocValuesField(VERSION, image.version()));
    doc.add(new StoredField(VERSION, image.version()));
    doc.add(new StoredField(POSITION, image.position()));
    doc.add(new StoredField(OCCURRED_AT, image.occurredAtMillis()));
    doc.add(new StoredField(EMBEDDED_AT, image.embeddedAtMillis()));
    storeString(doc, SHA256, image.sha256());
    storeString(doc, SOURCE_URL, image.sourceUrl());
    storeString(doc, TITLE, image.title());
    storeString(doc, CURRENCY, image.currency());
    storeFilterable(doc, BRAND, image.brand());
    storeFilterable(doc, CATEGORY, image.category());
    storeFilterable(doc, AVAILABILITY, image.availability());
    if (image.price() != null) {
      doc.add(new DoublePoint(PRICE, image.price()));
      doc.add(new StoredField(PRICE, image.price()));
    }
    if (image.attributes() != null) {
      image.attributes().forEach((name, value) -> storeString(doc, ATTRIBUTE_PREFIX + name, value));
    }
    addText(doc, "text.title", image.title());
    addText(doc, "text.brand", image.brand());
    addText(doc, "text.category", image.category());
    if (image.attributes() != null) {
      addText(doc, "text.attributes", String.join(" ", image.attributes().values()));
    }
    return doc;
  }

  /**
   * The vector itself when it is of unit length (as embedders write them), else a normalised copy:
   * DOT_PRODUCT equals cosine only on unit vectors.
   */
  static float[] unit(float[] vector) {
    double norm = 0;
    for (float value : vector) {
      norm += (double) value * value;
    }
    if (Math.abs(norm - 1) < 1e-5 || norm == 0) {
      return vector;
    }
    float[] scaled = new float[vector.length];
    double inverse = 1 / Math.sqrt(norm);
    for (int i = 0; i < vector.length; i++) {
      scaled[i] = (float) (vector[i] * inverse);
    }
    return scaled;
  }

  private static void addText(Document doc, String field, String value) {
    if (value != null && !value.isBlank()) {
      doc.add(new TextField(field, value, Field.Store.NO));
    }
  }

  private static void storeString(Document doc, String field, String value) {
    if (value != null) {
      doc.add(new StoredField(field, value));
    }
  }

  private static void storeFilterable(Document doc, String field, String value) {
    if (value != null) {
      doc.add(new StoredField(field, value));
      doc.add(new StringField(FILTER_PREFIX + field, normalise(value), Field.Store.NO));
    }
  }

  private static String normalise(String value) {
    return value.trim().toLowerCase(Locale.ROOT);
  }

  private static Query toQuery(SearchFilter filter) {
    if (filter == null || filter.isEmpty()) {
      return null;
    }
    BooleanQuery.Builder query = new BooleanQuery.Builder();
    anyOf(query, CATEGORY, filter.categories());
    anyOf(query, BRAND, filter.brands());
    anyOf(query, AVAILABILITY, filter.availability());
    if (filter.minPrice() != null || filter.maxPrice() != null) {
      query.add(
          DoublePoint.newRangeQuery(
              PRICE,
              filter.minPrice() == null ? Double.NEGATIVE_INFINITY : filter.minPrice(),
              filter.maxPrice() == null ? Double.POSITIVE_INFINITY : filter.maxPrice()),
          Occur.FILTER);
    }
    return query.build();
  }

  private static void anyOf(BooleanQuery.Builder query, String field, Set<String> values) {
    if (!values.isEmpty()) {
      List<BytesRef> terms = values.stream().map(v -> new BytesRef(normalise(v))).toList();
      query.add(new TermInSetQuery(FILTER_PREFIX + field, terms), Occur.FILTER);
    }
  }

  private StoredImage load(IndexSearcher searcher, int doc) throws IOException {
    Document stored = searcher.storedFields().document(doc);
    Map<String, String> attributes = new TreeMap<>();
    for (IndexableField field : stored.getFields()) {
      if (field.name().startsWith(ATTRIBUTE_PREFIX)) {
        attributes.put(field.name().substring(ATTRIBUTE_PREFIX.length()), field.stringValue());
      }
    }
    IndexableField price = stored.getField(PRICE);
    return new StoredImage(
        ImageKey.parse(stored.get(KEY)),
        vector(searcher, doc),
        stored.getField(VERSION).numericValue().longValue(),
        stored.get(SHA256),
        stored.getField(POSITION).numericValue().intValue(),
        stored.get(SOURCE_URL),
        stored.getField(OCCURRED_AT).numericValue().longValue(),
        stored.getField(EMBEDDED_AT).numericValue().longValue(),
        stored.get(TITLE),
        stored.get(BRAND),
        stored.get(CATEGORY),
        price == null ? null : price.numericValue().doubleValue(),
        stored.get(CURRENCY),
        stored.get(AVAILABILITY),
        attributes);
  }

  private static float[] vector(IndexSearcher searcher, int doc) throws IOException {
    List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
    LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(doc, leaves));
    FloatVectorValues values = leaf.reader().getFloatVectorValues(VECTOR);
    int target = doc - leaf.docBase;
    if (values == null || values.advance(target) != target) {
      throw new IllegalStateException("Document " + doc + " has no vector");
    }
    return values.vectorValue().clone();
  }

  private interface SearcherFunction<T> {
    T apply(IndexSearcher searcher) throws IOException;
  }

  private <T> T withSearcher(SearcherFunction<T> function) {
    try {
      IndexSearcher searcher = searchers.acquire();
      try {
        return function.apply(searcher);
      } finally {
        searchers.release(searcher);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the Lucene index of model " + modelId, e);
    }
  }

  private static void closeQuietly(Directory directory, ExecutorService mergeExecutor) {
    if (mergeExecutor != null) {
      mergeExecutor.shutdown();
    }
    if (directory != null) {
      try {
        directory.close();
      } catch (IOException e) {
        log.debug("Ignored while closing {}", directory, e);
      }
    }
  }
}
