package io.lookalike.ingest.connect;

import io.lookalike.ingest.CatalogFeedParser;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feed files of a directory. Source partition: the file's absolute path. Source offset: the byte
 * position and number of the last line read, plus checksums of the file's first 4 KiB and of that
 * last line, so that a restarted task continues after the last line it handed over, and notices a
 * file replaced by a new version (read again from its start).
 */
final class DirectoryFeed {

  private static final Logger log = LoggerFactory.getLogger(DirectoryFeed.class);
  private static final int HEAD_BYTES = 4096;

  private final Path dir;
  private final PathMatcher matcher;
  private final long settleMs;
  private final int maxLineBytes;
  private final boolean emitDeletes;
  private final FeedRecords records;
  private final OffsetStorageReader offsets;
  private final Map<Path, FileState> files = new HashMap<>();
  private List<Path> listed = List.of();

  /** What has been read of one file. */
  private static final class FileState {
    final Map<String, String> partition;
    long position;
    long line;
    long lineStart;
    long head;
    long tail;
    long modified = -1;
    CatalogFeedParser parser;
    Set<String> seen = new LinkedHashSet<>();
    /** Product ids of the previous version, while a new version is read (feed.emit.deletes). */
    String previous;

    FileState(Path file) {
      this.partition = Map.of("file", file.toString());
    }
  }

  DirectoryFeed(CatalogFeedConfig config, FeedRecords records, OffsetStorageReader offsets) {
    this.dir = Path.of(config.dir()).toAbsolutePath().normalize();
    this.matcher = dir.getFileSystem().getPathMatcher("glob:" + config.getString(CatalogFeedConfig.DIR_PATTERN_CONFIG));
    this.settleMs = config.getLong(CatalogFeedConfig.SETTLE_MS_CONFIG);
    this.maxLineBytes = config.getInt(CatalogFeedConfig.MAX_LINE_BYTES_CONFIG);
    this.emitDeletes = config.getBoolean(CatalogFeedConfig.EMIT_DELETES_CONFIG);
    this.records = records;
    this.offsets = offsets;
  }

  /** Adds up to {@code max} records to {@code out}; lists the directory again when {@code rescan}. */
  void poll(List<SourceRecord> out, int max, boolean rescan) throws IOException {
    if (rescan) {
      listed = list();
    }
    for (Path file : listed) {
      if (out.size() >= max) {
        return;
      }
      try {
        read(file, out, max);
      } catch (java.nio.file.NoSuchFileException e) {
        log.debug("{} disappeared while read", file);
      }
    }
  }

  private List<Path> list() throws IOException {
    if (!Files.isDirectory(dir)) {
      log.warn("Feed directory {} does not exist (yet)", dir);
      return List.of();
    }
    List<Path> found = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path file : stream) {
        if (Files.isRegularFile(file) && matcher.matches(file.getFileName())) {
          found.add(file);
        }
      }
    }
    found.sort(null);
    return found;
  }

  private void read(Path file, List<SourceRecord> out, int max) throws IOException {
    FileState state = files.get(file);
    if (state == null) {
      state = restore(file);
      files.put(file, state);
    }
    long size = Files.size(file);
    long modified = Files.getLastModifiedTime(file).toMillis();
    if (state.position == size && state.modified == modified) {
      return; // nothing new
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      if (state.position > 0 && replaced(channel, state, size)) {
        log.info("{} was replaced by a new version: reading it from the start", file);
        restart(state, file);
      }
      boolean settled = System.currentTimeMillis() - modified >= settleMs;
      InputStream in = new BufferedInputStream(Channels.newInputStream(channel.position(state.position)), 64 * 1024);
      List<FeedRecords.RawLine> lines = FeedRecords.read(in, state.position, state.line, max - out.size(),
          maxLineBytes, settled);
      byte[] head = head(channel);
      int before = out.size();
      for (FeedRecords.RawLine line : lines) {
        state.lineStart = state.position;
        state.position = line.end();
        state.line = line.number();
        state.head = crc(head, (int) Math.min(HEAD_BYTES, state.position));
        state.tail = crc(line.bytes(), line.bytes().length);
        SourceRecord record = records.record(state.partition, offset(state), file.toString(), line, state.parser,
            emitDeletes ? state.seen : null);
        if (record != null) {
          out.add(record);
        }
      }
      if (state.position == size && settled) {
        state.modified = modified;
        finishVersion(state, out, before);
      }
    }
  }

  /** At the end of a version: DELETEs for what the previous version listed and this one does not. */
  private void finishVersion(FileState state, List<SourceRecord> out, int firstOfBatch) {
    if (!emitDeletes) {
      return;
    }
    if (state.previous != null) {
      Set<String> missing = FeedRecords.unpack(state.previous);
      missing.removeAll(state.seen);
      state.previous = null;
      long version = System.currentTimeMillis();
      for (String productId : missing) {
        out.add(records.delete(state.partition, offset(state), productId, version));
      }
      if (!missing.isEmpty()) {
        log.info("{}: {} products of the previous version are gone, DELETEs emitted", state.partition.get("file"),
            missing.size());
      }
    }
    // The last record handed over also carries this version's products, for the next version's deletes.
    if (out.size() > firstOfBatch) {
      Map<String, Object> offset = offset(state);
      offset.put("products", FeedRecords.pack(state.seen));
      SourceRecord last = out.get(out.size() - 1);
      out.set(out.size() - 1, new SourceRecord(last.sourcePartition(), offset, last.topic(), last.kafkaPartition(),
          last.keySchema(), last.key(), last.valueSchema(), last.value(), last.timestamp(), last.headers()));
    }
  }

  private Map<String, Object> offset(FileState state) {
    Map<String, Object> offset = new HashMap<>();
    offset.put("position", state.position);
    offset.put("line", state.line);
    offset.put("lineStart", state.lineStart);
    offset.put("head", state.head);
    offset.put("tail", state.tail);
    if (state.previous != null) {
      offset.put("previous", state.previous);
    }
    return offset;
  }

  /** The state of a file seen for the first time by this task: from its committed offset, if any. */
  private FileState restore(Path file) throws IOException {
    FileState state = new FileState(file);
    state.parser = parser(file);
    Map<String, Object> offset = offsets.offset(state.partition);
    if (offset == null) {
      return state;
    }
    state.position = ((Number) offset.get("position")).longValue();
    state.line = ((Number) offset.get("line")).longValue();
    state.lineStart = ((Number) offset.get("lineStart")).longValue();
    state.head = ((Number) offset.get("head")).longValue();
    state.tail = ((Number) offset.get("tail")).longValue();
    state.previous = (String) offset.get("previous");
    String products = (String) offset.get("products");
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      if (replaced(channel, state, channel.size())) {
        log.info("{} changed since offset {}: reading its new version from the start", file, state.position);
        state.seen = FeedRecords.unpack(products);
        restart(state, file);
        return state;
      }
      // Read again what was handed over already, for the CSV header and (with deletes) the products seen.
      if (emitDeletes || state.parser.needsHeader()) {
        InputStream in = new BufferedInputStream(Channels.newInputStream(channel.position(0)), 64 * 1024);
        for (long number = 0; number < state.line; ) {
          List<FeedRecords.RawLine> lines = FeedRecords.read(in, 0, number, emitDeletes ? 10_000 : 1, maxLineBytes, true);
          if (lines.isEmpty()) {
            break;
          }
          for (FeedRecords.RawLine line : lines) {
            if (line.number() <= state.line) {
              FeedRecords.collect(line, state.parser, state.seen);
            }
          }
          number += lines.size();
          if (!emitDeletes && !state.parser.needsHeader()) {
            break;
          }
        }
      }
    }
    log.info("Resuming {} after line {} (byte {})", file, state.line, state.position);
    return state;
  }

  private void restart(FileState state, Path file) {
    state.previous = emitDeletes && !state.seen.isEmpty() ? FeedRecords.pack(state.seen) : null;
    state.seen = new LinkedHashSet<>();
    state.position = 0;
    state.line = 0;
    state.lineStart = 0;
    state.parser = parser(file);
  }

  private static CatalogFeedParser parser(Path file) {
    Path base = file.toAbsolutePath().getParent();
    return new CatalogFeedParser(CatalogFeedParser.Format.of(file.getFileName().toString()),
        url -> base.resolve(url).normalize().toUri().toString());
  }

  /** Whether what the offset says was read is no longer what the file holds. */
  private static boolean replaced(FileChannel channel, FileState state, long size) throws IOException {
    if (size < state.position) {
      return true;
    }
    byte[] head = head(channel);
    if (crc(head, (int) Math.min(HEAD_BYTES, state.position)) != state.head) {
      return true;
    }
    byte[] last = new byte[(int) (state.position - state.lineStart)];
    readFully(channel, state.lineStart, last);
    int length = last.length;
    while (length > 0 && (last[length - 1] == '\n' || last[length - 1] == '\r')) {
      length--;
    }
    return crc(last, Math.min(length, Integer.MAX_VALUE)) != state.tail;
  }

  private static byte[] head(FileChannel channel) throws IOException {
    byte[] head = new byte[(int) Math.min(HEAD_BYTES, channel.size())];
    readFully(channel, 0, head);
    return head;
  }

  private static void readFully(FileChannel channel, long position, byte[] into) throws IOException {
    java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(into);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        break;
      }
    }
  }

  private static long crc(byte[] bytes, int length) {
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, Math.min(length, bytes.length));
    return crc.getValue();
  }
}
