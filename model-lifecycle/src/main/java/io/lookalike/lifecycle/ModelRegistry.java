package io.lookalike.lifecycle;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The models the local mode knows and which one is active, kept in {@code <data>/models.json} so
 * that a restart brings back every model's pipeline and the active pointer. Each change is written
 * atomically.
 */
final class ModelRegistry {

  /**
   * One registered model; {@code url} empty means the bundled default, {@code caughtUpAt} null
   * until it caught up, {@code refused} the reason the quality gate (or its own first batch)
   * refused it, null while it is not refused; {@code warm}: a refused model that keeps consuming.
   */
  record Entry(
      String modelId,
      String name,
      String url,
      int dimension,
      String createdAt,
      String caughtUpAt,
      String refused,
      boolean warm) {

    Entry(
        String modelId,
        String name,
        String url,
        int dimension,
        String createdAt,
        String caughtUpAt) {
      this(modelId, name, url, dimension, createdAt, caughtUpAt, null, false);
    }

    Entry withCaughtUpAt(String when) {
      return new Entry(modelId, name, url, dimension, createdAt, when, refused, warm);
    }

    Entry withRefused(String reason, boolean keepWarm) {
      return new Entry(modelId, name, url, dimension, createdAt, caughtUpAt, reason, keepWarm);
    }

    /** Refused, and not asked to stay warm: its pipeline does not consume. */
    boolean stopped() {
      return refused != null && !warm;
    }
  }

  /** What the file holds. */
  record State(String active, List<Entry> models) {}

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final Path file;
  private State state;

  private ModelRegistry(Path file, State state) {
    this.file = file;
    this.state = state;
  }

  static ModelRegistry load(Path file) {
    try {
      State state =
          Files.exists(file)
              ? JSON.readValue(file.toFile(), State.class)
              : new State(null, List.of());
      return new ModelRegistry(
          file, new State(state.active(), state.models() == null ? List.of() : state.models()));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the model registry " + file, e);
    }
  }

  synchronized List<Entry> models() {
    return state.models();
  }

  synchronized Optional<Entry> get(String modelId) {
    return state.models().stream().filter(e -> e.modelId().equals(modelId)).findFirst();
  }

  synchronized String active() {
    return state.active();
  }

  synchronized void put(Entry entry) {
    List<Entry> models = new ArrayList<>(state.models());
    models.removeIf(e -> e.modelId().equals(entry.modelId()));
    models.add(entry);
    save(new State(state.active(), models));
  }

  synchronized void remove(String modelId) {
    List<Entry> models = new ArrayList<>(state.models());
    models.removeIf(e -> e.modelId().equals(modelId));
    save(new State(modelId.equals(state.active()) ? null : state.active(), models));
  }

  synchronized void activate(String modelId) {
    save(new State(modelId, state.models()));
  }

  private void save(State next) {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      JSON.writeValue(tmp.toFile(), next);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      state = new State(next.active(), List.copyOf(next.models()));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the model registry " + file, e);
    }
  }
}
