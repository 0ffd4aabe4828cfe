package io.lookalike.store.milvus;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.milvus.grpc.AlterAliasRequest;
import io.milvus.grpc.BoolResponse;
import io.milvus.grpc.CollectionSchema;
import io.milvus.grpc.ConnectRequest;
import io.milvus.grpc.ConnectResponse;
import io.milvus.grpc.CreateAliasRequest;
import io.milvus.grpc.CreateCollectionRequest;
import io.milvus.grpc.CreateIndexRequest;
import io.milvus.grpc.DataType;
import io.milvus.grpc.DeleteRequest;
import io.milvus.grpc.DescribeAliasRequest;
import io.milvus.grpc.DescribeAliasResponse;
import io.milvus.grpc.DescribeCollectionRequest;
import io.milvus.grpc.DescribeCollectionResponse;
import io.milvus.grpc.DescribeIndexRequest;
import io.milvus.grpc.DescribeIndexResponse;
import io.milvus.grpc.DoubleArray;
import io.milvus.grpc.ErrorCode;
import io.milvus.grpc.FieldData;
import io.milvus.grpc.FieldSchema;
import io.milvus.grpc.FloatArray;
import io.milvus.grpc.GetLoadStateRequest;
import io.milvus.grpc.GetLoadStateResponse;
import io.milvus.grpc.GetLoadingProgressRequest;
import io.milvus.grpc.GetLoadingProgressResponse;
import io.milvus.grpc.HasCollectionRequest;
import io.milvus.grpc.IDs;
import io.milvus.grpc.IndexDescription;
import io.milvus.grpc.IndexState;
import io.milvus.grpc.IntArray;
import io.milvus.grpc.JSONArray;
import io.milvus.grpc.KeyValuePair;
import io.milvus.grpc.LoadCollectionRequest;
import io.milvus.grpc.LoadState;
import io.milvus.grpc.LongArray;
import io.milvus.grpc.MilvusServiceGrpc;
import io.milvus.grpc.MutationResult;
import io.milvus.grpc.PlaceholderGroup;
import io.milvus.grpc.QueryRequest;
import io.milvus.grpc.QueryResults;
import io.milvus.grpc.ScalarField;
import io.milvus.grpc.SearchRequest;
import io.milvus.grpc.SearchResultData;
import io.milvus.grpc.SearchResults;
import io.milvus.grpc.ServerInfo;
import io.milvus.grpc.Status;
import io.milvus.grpc.StringArray;
import io.milvus.grpc.TemplateValue;
import io.milvus.grpc.UpsertRequest;
import io.milvus.grpc.VectorField;
import io.milvus.shaded.io.grpc.Server;
import io.milvus.shaded.io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.milvus.shaded.io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A protocol double, not Milvus: a gRPC server on 127.0.0.1 that speaks the MilvusService calls our
 * {@link MilvusVectorStore} makes, over the SDK's own relocated gRPC and generated stubs, backed by
 * an exact in-memory store (brute-force cosine search, and an evaluator for exactly the expression
 * shapes {@link MilvusExpressions} generates: {@code field in {p}}, {@code field == {p}}, {@code
 * field >= {p}}, {@code field <= {p}} joined by {@code and}, values only as template parameters;
 * anything else is rejected like a syntax error). It checks the schema of what is written (unknown
 * or missing fields, vector dimension), and can inject failures: a gRPC status for the next calls
 * of a method, or a Milvus error status in its response.
 *
 * <p>Full-text search (Milvus >= 2.5) is modelled as far as our store uses it: a schema may hold a
 * BM25 {@code Function} from a VARCHAR field with {@code enable_analyzer=true} to a
 * SPARSE_FLOAT_VECTOR field; the double checks that shape, marks the output field as a function
 * output (as the server does), refuses writes that fill it, and answers a search on it (metric
 * BM25, the query as text) with {@link Bm25}: a small textbook BM25 over the stored input text,
 * standing in for Milvus's server side only. What it does not model: segments, index build,
 * consistency levels (every read is strong; the level each query and search asked for is recorded,
 * {@link #consistencyLevels}), rate limits, partitions, analyzers other than a standard-like one,
 * BM25 statistics per segment (Milvus's scores differ in value, not in kind), or any expression it
 * does not need.
 */
public final class MilvusProtocolDouble implements AutoCloseable {

  /** One collection: its schema and rows by primary key. */
  public static final class Collection {
    final String name;
    final CollectionSchema schema;
    final int shards;
    final io.milvus.grpc.ConsistencyLevel consistency;
    public final Map<String, Map<String, Object>> rows = new LinkedHashMap<>();

    /**
     * The collection's properties (CreateCollection, AlterCollection), as DescribeCollection
     * answers them.
     */
    public final Map<String, String> properties = new LinkedHashMap<>();

    final List<CreateIndexRequest> indexes = new ArrayList<>();
    volatile boolean loaded;

    Collection(
        String name,
        CollectionSchema schema,
        int shards,
        io.milvus.grpc.ConsistencyLevel consistency) {
      this.name = name;
      this.schema = schema;
      this.shards = shards;
      this.consistency = consistency;
    }

    FieldSchema field(String name) {
      return schema.getFieldsList().stream()
          .filter(f -> f.getName().equals(name))
          .findFirst()
          .orElse(null);
    }

    String primaryKey() {
      return schema.getFieldsList().stream()
          .filter(FieldSchema::getIsPrimaryKey)
          .findFirst()
          .orElseThrow()
          .getName();
    }

    int dimension() {
      return schema.getFieldsList().stream()
          .filter(f -> f.getDataType() == DataType.FloatVector)
          .flatMap(f -> f.getTypeParamsList().stream())
          .filter(p -> p.getKey().equals("dim"))
          .map(p -> Integer.parseInt(p.getValue()))
          .findFirst()
          .orElseThrow();
    }
  }

  /** A Milvus error, answered in the response's status (as Milvus does), not as a gRPC failure. */
  static final class MilvusError extends RuntimeException {
    final int code;

    MilvusError(int code, String reason) {
      super(reason);
      this.code = code;
    }
  }

  private final Map<String, Collection> collections = new ConcurrentHashMap<>();
  private final Map<String, String> aliases = new ConcurrentHashMap<>();
  private final Map<String, Deque<Supplier<RuntimeException>>> failures = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final Map<String, java.util.List<io.milvus.grpc.ConsistencyLevel>> levels =
      new ConcurrentHashMap<>();
  private final Server server;

  public MilvusProtocolDouble() throws IOException {
    this(new InetSocketAddress("127.0.0.1", 0));
  }

  /**
   * Listening on {@code address}: the container image of deploy/compose's smoke test binds
   * 0.0.0.0:19530.
   */
  public MilvusProtocolDouble(InetSocketAddress address) throws IOException {
    server =
        NettyServerBuilder.forAddress(address)
            .addService(new Service())
            .maxInboundMessageSize(64 * 1024 * 1024)
            .build()
            .start();
  }

  public String uri() {
    return "http://127.0.0.1:" + server.getPort();
  }

  /** The next {@code times} calls of {@code method} (e.g. "upsert") fail with this gRPC status. */
  public void failNext(String method, int times, io.milvus.shaded.io.grpc.Status status) {
    Deque<Supplier<RuntimeException>> queue =
        failures.computeIfAbsent(method, m -> new ArrayDeque<>());
    synchronized (queue) {
      for (int i = 0; i < times; i++) {
        queue.add(status::asRuntimeException);
      }
    }
  }

  /** The next {@code times} calls of {@code method} answer with a Milvus error status. */
  public void errorNext(String method, int times, int code, String reason) {
    Deque<Supplier<RuntimeException>> queue =
        failures.computeIfAbsent(method, m -> new ArrayDeque<>());
    synchronized (queue) {
      for (int i = 0; i < times; i++) {
        queue.add(() -> new MilvusError(code, reason));
      }
    }
  }

  /** Drops the failures not injected yet. */
  public void clearFailures() {
    failures.clear();
  }

  /** How many times {@code method} was called (failed attempts included). */
  public int calls(String method) {
    AtomicInteger count = calls.get(method);
    return count == null ? 0 : count.get();
  }

  /** The consistency level of each {@code method} call ("query" or "search"), oldest first. */
  public java.util.List<io.milvus.grpc.ConsistencyLevel> consistencyLevels(String method) {
    return java.util.List.copyOf(levels.getOrDefault(method, java.util.List.of()));
  }

  private void recordLevel(String method, io.milvus.grpc.ConsistencyLevel level) {
    levels
        .computeIfAbsent(method, m -> new java.util.concurrent.CopyOnWriteArrayList<>())
        .add(level);
  }

  public Collection collection(String name) {
    return collections.get(resolve(name));
  }

  public String aliasTarget(String alias) {
    return aliases.get(alias);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private String resolve(String name) {
    return aliases.getOrDefault(name, name);
  }

  private Collection existing(String name) {
    Collection collection = collections.get(resolve(name));
    if (collection == null) {
      throw new MilvusError(100, "collection not found[collection=" + name + "]");
    }
    return collection;
  }

  private static Status ok() {
    return Status.newBuilder().setCode(0).setErrorCode(ErrorCode.Success).build();
  }

  private static Status error(MilvusError e) {
    return Status.newBuilder()
        .setCode(e.code)
        .setErrorCode(ErrorCode.UnexpectedError)
        .setReason(e.getMessage())
        .build();
  }

  /**
   * Runs one call: counts it, applies an injected failure, answers errors in the response's status.
   */
  private <T> void answer(
      String method, StreamObserver<T> observer, Function<Status, T> onError, Supplier<T> handler) {
    calls.computeIfAbsent(method, m -> new AtomicInteger()).incrementAndGet();
    T response;
    try {
      Deque<Supplier<RuntimeException>> queue = failures.get(method);
      Supplier<RuntimeException> failure = null;
      if (queue != null) {
        synchronized (queue) {
          failure = queue.poll();
        }
      }
      if (failure != null) {
        throw failure.get();
      }
      synchronized (this) { // one call at a time: the double is exact, not fast
        response = handler.get();
      }
    } catch (MilvusError e) {
      response = onError.apply(error(e));
    } catch (io.milvus.shaded.io.grpc.StatusRuntimeException e) {
      observer.onError(e);
      return;
    } catch (RuntimeException e) {
      response = onError.apply(error(new MilvusError(1100, "protocol double: " + e)));
    }
    observer.onNext(response);
    observer.onCompleted();
  }

  private final class Service extends MilvusServiceGrpc.MilvusServiceImplBase {

    @Override
    public void connect(ConnectRequest request, StreamObserver<ConnectResponse> observer) {
      answer(
          "connect",
          observer,
          s -> ConnectResponse.newBuilder().setStatus(s).build(),
          () ->
              ConnectResponse.newBuilder()
                  .setStatus(ok())
                  .setIdentifier(1)
                  .setServerInfo(ServerInfo.newBuilder().setBuildTags("protocol-double"))
                  .build());
    }

    @Override
    public void listDatabases(
        io.milvus.grpc.ListDatabasesRequest request,
        StreamObserver<io.milvus.grpc.ListDatabasesResponse> observer) {
      answer(
          "listDatabases",
          observer,
          s -> io.milvus.grpc.ListDatabasesResponse.newBuilder().setStatus(s).build(),
          () ->
              io.milvus.grpc.ListDatabasesResponse.newBuilder()
                  .setStatus(ok())
                  .addDbNames("default")
                  .build());
    }

    @Override
    public void hasCollection(HasCollectionRequest request, StreamObserver<BoolResponse> observer) {
      answer(
          "hasCollection",
          observer,
          s -> BoolResponse.newBuilder().setStatus(s).build(),
          () ->
              BoolResponse.newBuilder()
                  .setStatus(ok())
                  .setValue(collections.containsKey(resolve(request.getCollectionName())))
                  .build());
    }

    @Override
    public void createCollection(CreateCollectionRequest request, StreamObserver<Status> observer) {
      answer(
          "createCollection",
          observer,
          s -> s,
          () -> {
            if (collections.containsKey(request.getCollectionName())) {
              throw new MilvusError(
                  65535, "collection already exists: " + request.getCollectionName());
            }
            CollectionSchema schema;
            try {
              schema = withFunctionOutputs(CollectionSchema.parseFrom(request.getSchema()));
            } catch (InvalidProtocolBufferException e) {
              throw new MilvusError(1100, "bad schema: " + e.getMessage());
            }
            Collection created =
                new Collection(
                    request.getCollectionName(),
                    schema,
                    request.getShardsNum(),
                    request.getConsistencyLevel());
            request
                .getPropertiesList()
                .forEach(p -> created.properties.put(p.getKey(), p.getValue()));
            collections.put(request.getCollectionName(), created);
            return ok();
          });
    }

    @Override
    public void alterCollection(
        io.milvus.grpc.AlterCollectionRequest request, StreamObserver<Status> observer) {
      answer(
          "alterCollection",
          observer,
          s -> s,
          () -> {
            Collection collection = existing(request.getCollectionName());
            request
                .getPropertiesList()
                .forEach(p -> collection.properties.put(p.getKey(), p.getValue()));
            return ok();
          });
    }

    @Override
    public void dropCollection(
        io.milvus.grpc.DropCollectionRequest request, StreamObserver<Status> observer) {
      answer(
          "dropCollection",
          observer,
          s -> s,
          () -> {
            String name = request.getCollectionName();
            if (aliases.containsValue(name)) {
              throw new MilvusError(65535, "cannot drop the collection via alias = " + name);
            }
            collections.remove(name);
            return ok();
          });
    }

    @Override
    public void describeCollection(
        DescribeCollectionRequest request, StreamObserver<DescribeCollectionResponse> observer) {
      answer(
          "describeCollection",
          observer,
          s -> DescribeCollectionResponse.newBuilder().setStatus(s).build(),
          () -> {
            Collection collection = existing(request.getCollectionName());
            List<String> names =
                aliases.entrySet().stream()
                    .filter(e -> e.getValue().equals(collection.name))
                    .map(Map.Entry::getKey)
                    .toList();
            return DescribeCollectionResponse.newBuilder()
                .setStatus(ok())
                .setSchema(collection.schema)
                .setCollectionName(collection.name)
                .setCollectionID(Math.abs(collection.name.hashCode()))
                .setShardsNum(collection.shards)
                .setConsistencyLevel(collection.consistency)
                .addAllAliases(names)
                .setDbName("default")
                .addAllProperties(
                    collection.properties.entrySet().stream()
                        .map(
                            e ->
                                KeyValuePair.newBuilder()
                                    .setKey(e.getKey())
                                    .setValue(e.getValue())
                                    .build())
                        .toList())
                .build();
          });
    }

    @Override
    public void createIndex(CreateIndexRequest request, StreamObserver<Status> observer) {
      answer(
          "createIndex",
          observer,
          s -> s,
          () -> {
            Collection collection = existing(request.getCollectionName());
            FieldSchema field = collection.field(request.getFieldName());
            if (field == null) {
              throw new MilvusError(1100, "no field " + request.getFieldName());
            }
            String metric = param(request.getExtraParamsList(), "metric_type");
            if (field.getIsFunctionOutput() != "BM25".equals(metric)) {
              throw new MilvusError(
                  1100,
                  "float vector index does not support metric type: "
                      + metric
                      + " (BM25 exactly on a BM25 function's output, "
                      + field.getName()
                      + ")");
            }
            collection.indexes.add(request);
            return ok();
          });
    }

    @Override
    public void describeIndex(
        DescribeIndexRequest request, StreamObserver<DescribeIndexResponse> observer) {
      answer(
          "describeIndex",
          observer,
          s -> DescribeIndexResponse.newBuilder().setStatus(s).build(),
          () -> {
            Collection collection = existing(request.getCollectionName());
            DescribeIndexResponse.Builder response =
                DescribeIndexResponse.newBuilder().setStatus(ok());
            for (CreateIndexRequest index : collection.indexes) {
              response.addIndexDescriptions(
                  IndexDescription.newBuilder()
                      .setIndexName(index.getIndexName())
                      .setFieldName(index.getFieldName())
                      .addAllParams(index.getExtraParamsList())
                      .setState(IndexState.Finished)
                      .setTotalRows(collection.rows.size())
                      .setIndexedRows(collection.rows.size()));
            }
            return response.build();
          });
    }

    @Override
    public void loadCollection(LoadCollectionRequest request, StreamObserver<Status> observer) {
      answer(
          "loadCollection",
          observer,
          s -> s,
          () -> {
            existing(request.getCollectionName()).loaded = true;
            return ok();
          });
    }

    @Override
    public void getLoadState(
        GetLoadStateRequest request, StreamObserver<GetLoadStateResponse> observer) {
      answer(
          "getLoadState",
          observer,
          s -> GetLoadStateResponse.newBuilder().setStatus(s).build(),
          () ->
              GetLoadStateResponse.newBuilder()
                  .setStatus(ok())
                  .setState(
                      existing(request.getCollectionName()).loaded
                          ? LoadState.LoadStateLoaded
                          : LoadState.LoadStateNotLoad)
                  .build());
    }

    @Override
    public void getLoadingProgress(
        GetLoadingProgressRequest request, StreamObserver<GetLoadingProgressResponse> observer) {
      answer(
          "getLoadingProgress",
          observer,
          s -> GetLoadingProgressResponse.newBuilder().setStatus(s).build(),
          () ->
              GetLoadingProgressResponse.newBuilder()
                  .setStatus(ok())
                  .setProgress(existing(request.getCollectionName()).loaded ? 100 : 0)
                  .build());
    }

    @Override
    public void createAlias(CreateAliasRequest request, StreamObserver<Status> observer) {
      answer(
          "createAlias",
          observer,
          s -> s,
          () -> {
            existing(request.getCollectionName());
            if (aliases.containsKey(request.getAlias())
                || collections.containsKey(request.getAlias())) {
              throw new MilvusError(1601, "alias already exists: " + request.getAlias());
            }
            aliases.put(request.getAlias(), request.getCollectionName());
            return ok();
          });
    }

    @Override
    public void alterAlias(AlterAliasRequest request, StreamObserver<Status> observer) {
      answer(
          "alterAlias",
          observer,
          s -> s,
          () -> {
            existing(request.getCollectionName());
            if (!aliases.containsKey(request.getAlias())) {
              throw new MilvusError(1600, "alias not found: " + request.getAlias());
            }
            aliases.put(request.getAlias(), request.getCollectionName());
            return ok();
          });
    }

    @Override
    public void describeAlias(
        DescribeAliasRequest request, StreamObserver<DescribeAliasResponse> observer) {
      answer(
          "describeAlias",
          observer,
          s -> DescribeAliasResponse.newBuilder().setStatus(s).build(),
          () -> {
            String target = aliases.get(request.getAlias());
            if (target == null) {
              throw new MilvusError(1600, "alias not found: " + request.getAlias());
            }
            return DescribeAliasResponse.newBuilder()
                .setStatus(ok())
                .setAlias(request.getAlias())
                .setCollection(target)
                .setDbName("default")
                .build();
          });
    }

    @Override
    public void upsert(UpsertRequest request, StreamObserver<MutationResult> observer) {
      answer(
          "upsert",
          observer,
          s -> MutationResult.newBuilder().setStatus(s).build(),
          () -> {
            Collection collection = existing(request.getCollectionName());
            List<Map<String, Object>> rows =
                decodeRows(collection, request.getFieldsDataList(), request.getNumRows());
            String pk = collection.primaryKey();
            StringArray.Builder ids = StringArray.newBuilder();
            for (Map<String, Object> row :
                rows) { // validate all before applying any: a batch is all or nothing
              for (FieldSchema field : collection.schema.getFieldsList()) {
                if (field.getIsFunctionOutput()) {
                  if (row.containsKey(field.getName())) {
                    throw new MilvusError(
                        1100, "attempt to insert into function output field: " + field.getName());
                  }
                } else if (!row.containsKey(field.getName()) && !field.getNullable()) {
                  throw new MilvusError(1100, "missing field " + field.getName());
                }
              }
            }
            for (Map<String, Object> row : rows) {
              collection.rows.put((String) row.get(pk), row);
              ids.addData((String) row.get(pk));
            }
            return MutationResult.newBuilder()
                .setStatus(ok())
                .setUpsertCnt(rows.size())
                .setIDs(IDs.newBuilder().setStrId(ids))
                .build();
          });
    }

    @Override
    public void delete(DeleteRequest request, StreamObserver<MutationResult> observer) {
      answer(
          "delete",
          observer,
          s -> MutationResult.newBuilder().setStatus(s).build(),
          () -> {
            Collection collection = existing(request.getCollectionName());
            Filter filter = Filter.parse(request.getExpr(), request.getExprTemplateValuesMap());
            if (request.getExpr().isBlank()) {
              throw new MilvusError(1100, "delete needs an expression");
            }
            List<String> keys =
                collection.rows.entrySet().stream()
                    .filter(e -> filter.test(e.getValue()))
                    .map(Map.Entry::getKey)
                    .toList();
            keys.forEach(collection.rows::remove);
            return MutationResult.newBuilder().setStatus(ok()).setDeleteCnt(keys.size()).build();
          });
    }

    @Override
    public void query(QueryRequest request, StreamObserver<QueryResults> observer) {
      recordLevel("query", request.getConsistencyLevel());
      answer(
          "query",
          observer,
          s -> QueryResults.newBuilder().setStatus(s).build(),
          () -> {
            Collection collection = existing(request.getCollectionName());
            Filter filter = Filter.parse(request.getExpr(), request.getExprTemplateValuesMap());
            List<Map<String, Object>> matches =
                collection.rows.values().stream().filter(filter::test).toList();
            QueryResults.Builder results =
                QueryResults.newBuilder().setStatus(ok()).setCollectionName(collection.name);
            if (request.getOutputFieldsList().contains("count(*)")) {
              return results
                  .addOutputFields("count(*)")
                  .addFieldsData(
                      FieldData.newBuilder()
                          .setFieldName("count(*)")
                          .setType(DataType.Int64)
                          .setScalars(
                              ScalarField.newBuilder()
                                  .setLongData(LongArray.newBuilder().addData(matches.size()))))
                  .build();
            }
            long limit = param(request.getQueryParamsList(), "limit", Long.MAX_VALUE);
            matches = matches.stream().limit(limit).toList();
            List<String> fields = outputFields(collection, request.getOutputFieldsList());
            results.addAllOutputFields(fields);
            for (String field : fields) {
              results.addFieldsData(encode(collection.field(field), matches));
            }
            return results.build();
          });
    }

    @Override
    public void search(SearchRequest request, StreamObserver<SearchResults> observer) {
      recordLevel("search", request.getConsistencyLevel());
      answer(
          "search",
          observer,
          s -> SearchResults.newBuilder().setStatus(s).build(),
          () -> {
            Collection collection = existing(request.getCollectionName());
            if (!collection.loaded) {
              throw new MilvusError(101, "collection not loaded: " + collection.name);
            }
            Filter filter = Filter.parse(request.getDsl(), request.getExprTemplateValuesMap());
            long topK =
                param(
                    request.getSearchParamsList(),
                    "topk",
                    param(request.getSearchParamsList(), "limit", 10));
            String metric = param(request.getSearchParamsList(), "metric_type");
            String annsField = param(request.getSearchParamsList(), "anns_field");
            FieldSchema anns =
                annsField == null || annsField.isEmpty()
                    ? collection.field(vectorField(collection))
                    : collection.field(annsField);
            if (anns == null) {
              throw new MilvusError(1100, "failed to get field schema by name: " + annsField);
            }
            List<Scored> scored;
            if (anns.getIsFunctionOutput()) {
              if (!"BM25".equals(metric)) {
                throw new MilvusError(
                    1100, "metric type not match: expected BM25 on " + anns.getName());
              }
              String input = bm25Input(collection, anns.getName());
              Bm25 bm25 =
                  new Bm25(
                      collection.rows.values().stream().map(r -> (String) r.get(input)).toList());
              String text = queryText(request.getPlaceholderGroup());
              scored =
                  collection.rows.values().stream()
                      .filter(filter::test)
                      .map(row -> new Scored(row, bm25.score(text, (String) row.get(input))))
                      .filter(s -> s.score() > 0) // only documents holding a query term
                      .toList();
            } else {
              if (metric != null && !metric.equals("COSINE")) {
                throw new MilvusError(1100, "the double only knows COSINE, got " + metric);
              }
              float[] query = queryVector(request.getPlaceholderGroup(), collection.dimension());
              String vectorField = anns.getName();
              scored =
                  collection.rows.values().stream()
                      .filter(filter::test)
                      .map(row -> new Scored(row, cosine(query, (float[]) row.get(vectorField))))
                      .toList();
            }
            List<Scored> best =
                scored.stream()
                    .sorted(Comparator.comparingDouble((Scored s) -> -s.score()))
                    .limit(topK)
                    .toList();
            List<Map<String, Object>> rows = best.stream().map(Scored::row).toList();
            String pk = collection.primaryKey();
            List<String> fields = outputFields(collection, request.getOutputFieldsList());
            SearchResultData.Builder data =
                SearchResultData.newBuilder()
                    .setNumQueries(1)
                    .setTopK(topK)
                    .addTopks(best.size())
                    .setPrimaryFieldName(pk)
                    .setIds(
                        IDs.newBuilder()
                            .setStrId(
                                StringArray.newBuilder()
                                    .addAllData(
                                        rows.stream().map(r -> (String) r.get(pk)).toList())))
                    .addAllOutputFields(fields);
            best.forEach(s -> data.addScores(s.score()));
            for (String field : fields) {
              data.addFieldsData(encode(collection.field(field), rows));
            }
            return SearchResults.newBuilder()
                .setStatus(ok())
                .setCollectionName(collection.name)
                .setResults(data)
                .build();
          });
    }
  }

  private record Scored(Map<String, Object> row, float score) {}

  // --- full-text search ---

  /**
   * The schema as the server keeps it: each function checked (only BM25, from one VARCHAR with
   * {@code enable_analyzer=true} to one SPARSE_FLOAT_VECTOR) and its output marked {@code
   * is_function_output}.
   */
  private static CollectionSchema withFunctionOutputs(CollectionSchema schema) {
    CollectionSchema.Builder builder = schema.toBuilder();
    for (io.milvus.grpc.FunctionSchema function : schema.getFunctionsList()) {
      if (function.getType() != io.milvus.grpc.FunctionType.BM25) {
        throw new MilvusError(1100, "the double only knows BM25 functions: " + function.getType());
      }
      if (function.getInputFieldNamesCount() != 1 || function.getOutputFieldNamesCount() != 1) {
        throw new MilvusError(1100, "BM25 function needs one input and one output field");
      }
      String input = function.getInputFieldNames(0);
      String output = function.getOutputFieldNames(0);
      boolean found = false;
      for (int i = 0; i < builder.getFieldsCount(); i++) {
        FieldSchema field = builder.getFields(i);
        if (field.getName().equals(input)) {
          if (field.getDataType() != DataType.VarChar
              || !"true".equals(param(field.getTypeParamsList(), "enable_analyzer"))) {
            throw new MilvusError(
                1100, "BM25 function input field " + input + " must be VARCHAR with analyzer");
          }
        } else if (field.getName().equals(output)) {
          if (field.getDataType() != DataType.SparseFloatVector) {
            throw new MilvusError(
                1100, "BM25 function output field " + output + " must be SPARSE_FLOAT_VECTOR");
          }
          builder.setFields(i, field.toBuilder().setIsFunctionOutput(true));
          found = true;
        }
      }
      if (!found) {
        throw new MilvusError(1100, "function output field not found: " + output);
      }
    }
    return builder.build();
  }

  /** The input field of the BM25 function whose output is {@code output}. */
  private static String bm25Input(Collection collection, String output) {
    return collection.schema.getFunctionsList().stream()
        .filter(f -> f.getOutputFieldNamesList().contains(output))
        .map(f -> f.getInputFieldNames(0))
        .findFirst()
        .orElseThrow(() -> new MilvusError(1100, output + " is not a function output"));
  }

  private static String queryText(ByteString placeholderGroup) {
    try {
      io.milvus.grpc.PlaceholderValue value =
          PlaceholderGroup.parseFrom(placeholderGroup).getPlaceholders(0);
      if (value.getType() != io.milvus.grpc.PlaceholderType.VarChar) {
        throw new MilvusError(1100, "a BM25 search takes text, got " + value.getType());
      }
      return value.getValues(0).toStringUtf8();
    } catch (InvalidProtocolBufferException e) {
      throw new MilvusError(1100, "bad placeholder group");
    }
  }

  /**
   * Okapi BM25 over a set of documents, with Milvus's defaults (k1 = 1.2, b = 0.75) and the
   * Lucene/Milvus idf {@code ln(1 + (N - df + 0.5) / (df + 0.5))}; tokens as a standard analyzer
   * makes them (runs of letters and digits, lower-cased). A stand-in for Milvus's server side only:
   * Milvus keeps these statistics per segment and scores from its inverted index.
   */
  static final class Bm25 {
    private static final double K1 = 1.2;
    private static final double B = 0.75;
    private final int documents;
    private final double averageLength;
    private final Map<String, Integer> documentFrequency = new java.util.HashMap<>();

    Bm25(List<String> corpus) {
      long length = 0;
      for (String document : corpus) {
        List<String> tokens = tokens(document);
        length += tokens.size();
        new java.util.HashSet<>(tokens).forEach(t -> documentFrequency.merge(t, 1, Integer::sum));
      }
      documents = corpus.size();
      averageLength = documents == 0 ? 0 : (double) length / documents;
    }

    static List<String> tokens(String text) {
      List<String> tokens = new ArrayList<>();
      if (text == null) {
        return tokens;
      }
      for (String token : text.toLowerCase(java.util.Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
        if (!token.isEmpty()) {
          tokens.add(token);
        }
      }
      return tokens;
    }

    float score(String query, String document) {
      List<String> terms = tokens(document);
      Map<String, Integer> frequency = new java.util.HashMap<>();
      terms.forEach(t -> frequency.merge(t, 1, Integer::sum));
      double score = 0;
      for (String term : new java.util.LinkedHashSet<>(tokens(query))) {
        int tf = frequency.getOrDefault(term, 0);
        if (tf == 0) {
          continue;
        }
        int df = documentFrequency.getOrDefault(term, 0);
        double idf = Math.log(1 + (documents - df + 0.5) / (df + 0.5));
        double norm = K1 * (1 - B + B * terms.size() / averageLength);
        score += idf * tf * (K1 + 1) / (tf + norm);
      }
      return (float) score;
    }
  }

  // --- encoding and decoding of columns ---

  private static String vectorField(Collection collection) {
    return collection.schema.getFieldsList().stream()
        .filter(f -> f.getDataType() == DataType.FloatVector)
        .findFirst()
        .orElseThrow()
        .getName();
  }

  private static List<String> outputFields(Collection collection, List<String> requested) {
    for (String name : requested) {
      if (collection.field(name) == null) {
        throw new MilvusError(1100, "field " + name + " not exist");
      }
    }
    return requested;
  }

  private static String param(List<KeyValuePair> params, String key) {
    return params.stream()
        .filter(p -> p.getKey().equals(key))
        .map(KeyValuePair::getValue)
        .findFirst()
        .orElse(null);
  }

  private static long param(List<KeyValuePair> params, String key, long fallback) {
    return params.stream()
        .filter(p -> p.getKey().equals(key))
        .map(p -> Long.parseLong(p.getValue()))
        .findFirst()
        .orElse(fallback);
  }

  private static float[] queryVector(ByteString placeholderGroup, int dimension) {
    try {
      PlaceholderGroup group = PlaceholderGroup.parseFrom(placeholderGroup);
      ByteBuffer bytes =
          group
              .getPlaceholders(0)
              .getValues(0)
              .asReadOnlyByteBuffer()
              .order(ByteOrder.LITTLE_ENDIAN);
      float[] vector = new float[bytes.remaining() / Float.BYTES];
      if (vector.length != dimension) {
        throw new MilvusError(
            1100, "query vector of dimension " + vector.length + ", collection has " + dimension);
      }
      bytes.asFloatBuffer().get(vector);
      return vector;
    } catch (InvalidProtocolBufferException e) {
      throw new MilvusError(1100, "bad placeholder group");
    }
  }

  private static float cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return (float) (dot / Math.sqrt(na * nb));
  }

  private static List<Map<String, Object>> decodeRows(
      Collection collection, List<FieldData> columns, int numRows) {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int i = 0; i < numRows; i++) {
      rows.add(new LinkedHashMap<>());
    }
    for (FieldData column : columns) {
      FieldSchema field = collection.field(column.getFieldName());
      if (field == null) {
        throw new MilvusError(1100, "field " + column.getFieldName() + " not in the schema");
      }
      if (field.getDataType() != column.getType()) {
        throw new MilvusError(
            1100,
            "field "
                + field.getName()
                + " is "
                + field.getDataType()
                + ", got "
                + column.getType());
      }
      List<Object> values = values(column, collection);
      List<Boolean> valid = column.getValidDataList();
      if (!valid.isEmpty() && !field.getNullable()) {
        throw new MilvusError(1100, "field " + field.getName() + " is not nullable");
      }
      // Nullable columns come packed: only the valid rows' values, in order.
      int next = 0;
      for (int i = 0; i < numRows; i++) {
        if (!valid.isEmpty() && !valid.get(i)) {
          continue;
        }
        if (next >= values.size()) {
          throw new MilvusError(1100, "field " + field.getName() + " has fewer values than rows");
        }
        Object value = values.get(next++);
        if (value instanceof String text && field.getDataType() == DataType.VarChar) {
          int max =
              field.getTypeParamsList().stream()
                  .filter(p -> p.getKey().equals("max_length"))
                  .map(p -> Integer.parseInt(p.getValue()))
                  .findFirst()
                  .orElse(65_535);
          if (text.getBytes(StandardCharsets.UTF_8).length > max) {
            throw new MilvusError(
                1100, "the length of varchar field " + field.getName() + " exceeds max length");
          }
        }
        rows.get(i).put(field.getName(), value);
      }
    }
    return rows;
  }

  private static List<Object> values(FieldData column, Collection collection) {
    ScalarField s = column.getScalars();
    return switch (column.getType()) {
      case VarChar, String -> new ArrayList<>(s.getStringData().getDataList());
      case Int64 -> new ArrayList<>(s.getLongData().getDataList());
      case Int32, Int16, Int8 -> new ArrayList<>(s.getIntData().getDataList());
      case Double -> new ArrayList<>(s.getDoubleData().getDataList());
      case JSON ->
          s.getJsonData().getDataList().stream().map(b -> (Object) b.toStringUtf8()).toList();
      case FloatVector -> {
        VectorField v = column.getVectors();
        int dim = (int) v.getDim();
        if (dim != collection.dimension()) {
          throw new MilvusError(
              1100,
              "the dim ("
                  + dim
                  + ") of field data(vector) is not equal to schema dim ("
                  + collection.dimension()
                  + ")");
        }
        List<Float> flat = v.getFloatVector().getDataList();
        List<Object> vectors = new ArrayList<>();
        for (int i = 0; i < flat.size(); i += dim) {
          float[] vector = new float[dim];
          for (int j = 0; j < dim; j++) {
            vector[j] = flat.get(i + j);
          }
          vectors.add(vector);
        }
        yield vectors;
      }
      default -> throw new MilvusError(1100, "the double does not store " + column.getType());
    };
  }

  /** A column of the given rows; nullable columns hold a placeholder where valid_data is false. */
  private static FieldData encode(FieldSchema field, List<Map<String, Object>> rows) {
    FieldData.Builder column =
        FieldData.newBuilder()
            .setFieldName(field.getName())
            .setType(field.getDataType())
            .setFieldId(field.getFieldID());
    if (field.getNullable()) {
      rows.forEach(row -> column.addValidData(row.get(field.getName()) != null));
    }
    switch (field.getDataType()) {
      case VarChar, String ->
          column.setScalars(
              ScalarField.newBuilder()
                  .setStringData(
                      StringArray.newBuilder()
                          .addAllData(
                              rows.stream()
                                  .map(
                                      r ->
                                          (String)
                                              Objects.requireNonNullElse(
                                                  r.get(field.getName()), ""))
                                  .toList())));
      case Int64 ->
          column.setScalars(
              ScalarField.newBuilder()
                  .setLongData(
                      LongArray.newBuilder()
                          .addAllData(
                              rows.stream()
                                  .map(
                                      r ->
                                          (Long)
                                              Objects.requireNonNullElse(
                                                  r.get(field.getName()), 0L))
                                  .toList())));
      case Int32, Int16, Int8 ->
          column.setScalars(
              ScalarField.newBuilder()
                  .setIntData(
                      IntArray.newBuilder()
                          .addAllData(
                              rows.stream()
                                  .map(
                                      r ->
                                          (Integer)
                                              Objects.requireNonNullElse(r.get(field.getName()), 0))
                                  .toList())));
      case Double ->
          column.setScalars(
              ScalarField.newBuilder()
                  .setDoubleData(
                      DoubleArray.newBuilder()
                          .addAllData(
                              rows.stream()
                                  .map(
                                      r ->
                                          (Double)
                                              Objects.requireNonNullElse(
                                                  r.get(field.getName()), 0.0))
                                  .toList())));
      case JSON ->
          column.setScalars(
              ScalarField.newBuilder()
                  .setJsonData(
                      JSONArray.newBuilder()
                          .addAllData(
                              rows.stream()
                                  .map(
                                      r ->
                                          ByteString.copyFromUtf8(
                                              (String)
                                                  Objects.requireNonNullElse(
                                                      r.get(field.getName()), "{}")))
                                  .toList())));
      case FloatVector -> {
        FloatArray.Builder flat = FloatArray.newBuilder();
        int dim = 0;
        for (Map<String, Object> row : rows) {
          float[] vector = (float[]) row.get(field.getName());
          dim = vector.length;
          for (float value : vector) {
            flat.addData(value);
          }
        }
        column.setVectors(VectorField.newBuilder().setDim(dim).setFloatVector(flat));
      }
      default -> throw new MilvusError(1100, "the double does not return " + field.getDataType());
    }
    return column.build();
  }

  // --- expressions ---

  /**
   * The conjunction of simple clauses that MilvusExpressions emits; every value is a template
   * parameter.
   */
  private record Filter(List<Clause> clauses) {

    private record Clause(String field, String op, Object value) {}

    static Filter parse(String expression, Map<String, TemplateValue> values) {
      List<Clause> clauses = new ArrayList<>();
      if (expression == null || expression.isBlank()) {
        return new Filter(clauses);
      }
      for (String text : expression.split(" and ")) {
        java.util.regex.Matcher m =
            java.util.regex.Pattern.compile(
                    "\\s*([A-Za-z_][A-Za-z0-9_]*) (in|==|>=|<=) \\{([A-Za-z_][A-Za-z0-9_]*)}\\s*")
                .matcher(text);
        if (!m.matches()) {
          throw new MilvusError(1100, "cannot parse expression: " + expression);
        }
        TemplateValue value = values.get(m.group(3));
        if (value == null) {
          throw new MilvusError(
              1100,
              "the value of expression template variable name {" + m.group(3) + "} is not found");
        }
        clauses.add(new Clause(m.group(1), m.group(2), decode(value)));
      }
      return new Filter(clauses);
    }

    boolean test(Map<String, Object> row) {
      for (Clause clause : clauses) {
        Object actual = row.get(clause.field());
        if (actual == null) {
          return false; // null matches no comparison, as in Milvus
        }
        boolean match =
            switch (clause.op()) {
              case "in" ->
                  clause.value() instanceof List<?> list
                      && list.stream().anyMatch(v -> same(actual, v));
              case "==" -> same(actual, clause.value());
              case ">=" ->
                  ((Number) actual).doubleValue() >= ((Number) clause.value()).doubleValue();
              case "<=" ->
                  ((Number) actual).doubleValue() <= ((Number) clause.value()).doubleValue();
              default -> false;
            };
        if (!match) {
          return false;
        }
      }
      return true;
    }

    private static boolean same(Object actual, Object wanted) {
      if (actual instanceof Number a && wanted instanceof Number w) {
        return a.doubleValue() == w.doubleValue();
      }
      return actual.equals(wanted);
    }

    private static Object decode(TemplateValue value) {
      return switch (value.getValCase()) {
        case BOOL_VAL -> value.getBoolVal();
        case INT64_VAL -> value.getInt64Val();
        case FLOAT_VAL -> value.getFloatVal();
        case STRING_VAL -> value.getStringVal();
        case ARRAY_VAL ->
            switch (value.getArrayVal().getDataCase()) {
              case STRING_DATA -> List.copyOf(value.getArrayVal().getStringData().getDataList());
              case LONG_DATA -> List.copyOf(value.getArrayVal().getLongData().getDataList());
              case DOUBLE_DATA -> List.copyOf(value.getArrayVal().getDoubleData().getDataList());
              case BOOL_DATA -> List.copyOf(value.getArrayVal().getBoolData().getDataList());
              default ->
                  throw new MilvusError(
                      1100, "unsupported template array " + value.getArrayVal().getDataCase());
            };
        default -> throw new MilvusError(1100, "unsupported template value " + value.getValCase());
      };
    }
  }
}
