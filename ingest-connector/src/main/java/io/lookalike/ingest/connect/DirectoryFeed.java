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
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feed files of a directory. Source partition: the file's absolute path. Source offset: the
 * byte position and number of the last line read, and the SHA-256 of the file's bytes up to that
 * position, so that a restarted task continues after the last line it handed over, and any change
 * to what was read (a file replaced by a new version, same length or not, moved over it or
 * rewritten in place) is noticed and the file read again from its start.
 *
 * <p>The check is a full checksum of the part read; it runs when the file's size, modification time
 * or identity (inode) differs from when it was last verified: at once when the file was replaced
 * (new inode) or shrank, otherwise at the next directory scan (every {@code
 * feed.poll.interval.ms}).
 */
final class DirectoryFeed {

  private static final Logger log = LoggerFactory.getLogger(DirectoryFeed.class);

  /**
   * Offsets of older releases: first 4 KiB and last line checksums instead of the content checksum.
   */
  private static final int LEGACY_HEAD_BYTES = 4096;

  private final Path dir;
  private final PathMatcher matcher;
  private final long settleMs;
  private final int maxLineBytes;
  private final boolean emitDeletes;
  private final FeedRecords records;
  private final OffsetStorageReader offsets;
  private final Map<Path, FileState> files = new HashMap<>();
  private List<Path> listed = List.of();

  /**
   * A file's size, modification time and identity: when they are as verified, the content is too.
   */
  private record Attributes(long size, long modified, String fileKey) {
    static Attributes of(Path file) throws IOException {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      return new Attributes(a.size(), a.lastModifiedTime().toMillis(), String.valueOf(a.fileKey()));
    }
  }

  /** What has been read of one file. */
  private static final class FileState {
    final Map<String, String> partition;
    long position;
    long line;

    /** SHA-256 (hex) of the bytes before position, and the running digest that produced it. */
    String checksum;

    ContentChecksum digest = ContentChecksum.empty();

    /** The attributes when the content was last known to match checksum; null: not verified. */
    Attributes verified;

    /** The identity of the file last read from; another one means the file was replaced. */
    String fileKey;

    CatalogFeedParser parser;

    /** The products this version lists so far, with their versions (feed.emit.deletes). */
    Map<String, Long> seen = new LinkedHashMap<>();

    /**
     * Products (and versions) of the previous version, while a new version is read
     * (feed.emit.deletes).
     */
    String previous;

    FileState(Path file) {
      this.partition = Map.of("file", file.toString());
    }
  }

  DirectoryFeed(CatalogFeedConfig config, FeedRecords records, OffsetStorageReader offsets) {
    this.dir = Path.of(config.dir()).toAbsolutePath().normalize();
    this.matcher =
        dir.getFileSystem()
            .getPathMatcher("glob:" + config.getString(CatalogFeedConfig.DIR_PATTERN_CONFIG));
    this.settleMs = config.getLong(CatalogFeedConfig.SETTLE_MS_CONFIG);
    this.maxLineBytes = config.getInt(CatalogFeedConfig.MAX_LINE_BYTES_CONFIG);
    this.emitDeletes = config.getBoolean(CatalogFeedConfig.EMIT_DELETES_CONFIG);
    this.records = records;
    this.offsets = offsets;
  }

  /**
   * Adds up to {@code max} records to {@code out}; lists the directory again when {@code rescan}.
   */
  void poll(List<SourceRecord> out, int max, boolean rescan) throws IOException {
    if (rescan) {
      listed = list();
    }
    for (Path file : listed) {
      if (out.size() >= max) {
        return;
      }
      try {
        read(file, out, max, rescan);
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

  private void read(Path file, List<SourceRecord> out, int max, boolean rescan) throws IOException {
    FileState state = files.get(file);
    if (state == null) {
      state = restore(file);
      files.put(file, state);
    }
    Attributes now = Attributes.of(file);
    if (now.equals(state.verified) && state.position == now.size()) {
      return; // nothing new
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      boolean verifiedNow = state.position == 0;
      boolean replacedOrShrunk =
          state.fileKey != null && !now.fileKey().equals(state.fileKey)
              || now.size() < state.position;
      state.fileKey = now.fileKey();
      if (state.position > 0 && (rescan || replacedOrShrunk)) {
        if (!state.checksum.equals(ContentChecksum.of(channel, state.position))) {
          log.info(
              "{} changed in the {} bytes read so far: reading its new version from the start",
              file,
              state.position);
          restart(state, file);
        }
        verifiedNow = true;
      }
      boolean settled = System.currentTimeMillis() - now.modified() >= settleMs;
      InputStream in =
          new BufferedInputStream(
              Channels.newInputStream(channel.position(state.position)), 64 * 1024);
      List<FeedRecords.RawLine> lines =
          FeedRecords.read(
              in,
              state.position,
              state.line,
              max - out.size(),
              maxLineBytes,
              settled,
              state.digest);
      int before = out.size();
      for (FeedRecords.RawLine line : lines) {
        state.position = line.end();
        state.line = line.number();
        state.checksum = line.checksum();
        SourceRecord record =
            records.record(
                state.partition,
                offset(state),
                file.toString(),
                line,
                state.parser,
                emitDeletes ? state.seen : null);
        if (record != null) {
          out.add(record);
        }
      }
      if (state.position == now.size() && settled) {
        if (verifiedNow) {
          state.verified = now;
        }
        finishVersion(state, out, before);
      }
    }
  }

  /**
   * At the end of a version: DELETEs for what the previous version listed and this one does not.
   */
  private void finishVersion(FileState state, List<SourceRecord> out, int firstOfBatch) {
    if (!emitDeletes) {
      return;
    }
    if (state.previous != null) {
      Map<String, Long> missing = FeedRecords.unpack(state.previous);
      missing.keySet().removeAll(state.seen.keySet());
      state.previous = null;
      for (Map.Entry<String, Long> gone : missing.entrySet()) {
        out.add(records.delete(state.partition, offset(state), gone.getKey(), gone.getValue()));
      }
      if (!missing.isEmpty()) {
        log.info(
            "{}: {} products of the previous version are gone, DELETEs emitted",
            state.partition.get("file"),
            missing.size());
      }
    }
    // The last record handed over also carries this version's products, for the next version's
    // deletes.
    if (out.size() > firstOfBatch) {
      Map<String, Object> offset = offset(state);
      offset.put("products", FeedRecords.pack(state.seen));
      SourceRecord last = out.get(out.size() - 1);
      out.set(
          out.size() - 1,
          new SourceRecord(
              last.sourcePartition(),
              offset,
              last.topic(),
              last.kafkaPartition(),
              last.keySchema(),
              last.key(),
              last.valueSchema(),
              last.value(),
              last.timestamp(),
              last.headers()));
    }
  }

  private Map<String, Object> offset(FileState state) {
    Map<String, Object> offset = new HashMap<>();
    offset.put("position", state.position);
    offset.put("line", state.line);
    offset.put("sha256", state.checksum);
    if (state.previous != null) {
      offset.put("previous", state.previous);
    }
    return offset;
  }

  /**
   * The state of a file seen for the first time by this task: from its committed offset, if any.
   * What was handed over is read again, to check its checksum and to learn the CSV header and the
   * products seen.
   */
  private FileState restore(Path file) throws IOException {
    FileState state = new FileState(file);
    state.parser = parser(file);
    state.checksum = ContentChecksum.empty().endLine();
    Map<String, Object> offset = offsets.offset(state.partition);
    if (offset == null) {
      return state;
    }
    long position = ((Number) offset.get("position")).longValue();
    long lineCount = ((Number) offset.get("line")).longValue();
    state.previous = (String) offset.get("previous");
    Attributes attributes = Attributes.of(file);
    boolean same = false;
    ContentChecksum digest = ContentChecksum.empty();
    Map<String, Long> seen = new LinkedHashMap<>();
    String checksum = null;
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      if (channel.size() >= position) {
        InputStream in =
            new BufferedInputStream(Channels.newInputStream(channel.position(0)), 64 * 1024);
        InputStream read = new BoundedInputStream(in, position);
        long number = 0;
        checksum = state.checksum;
        for (List<FeedRecords.RawLine> lines;
            !(lines = FeedRecords.read(read, 0, number, 10_000, maxLineBytes, true, digest))
                .isEmpty();
            number += lines.size()) {
          for (FeedRecords.RawLine line : lines) {
            FeedRecords.collect(line, state.parser, seen);
            checksum = line.checksum();
          }
        }
        same =
            offset.containsKey("sha256")
                ? checksum.equals(offset.get("sha256"))
                : !legacyReplaced(channel, offset, position);
      }
    }
    if (!same) {
      log.info(
          "{} changed since offset {}: reading its new version from the start", file, position);
      state.seen = FeedRecords.unpack((String) offset.get("products"));
      restart(state, file);
      return state;
    }
    state.position = position;
    state.line = lineCount;
    state.checksum = checksum;
    state.digest = digest;
    state.seen = emitDeletes ? seen : new LinkedHashMap<>();
    state.verified = attributes;
    state.fileKey = attributes.fileKey();
    log.info("Resuming {} after line {} (byte {})", file, state.line, state.position);
    return state;
  }

  private void restart(FileState state, Path file) {
    state.previous = emitDeletes && !state.seen.isEmpty() ? FeedRecords.pack(state.seen) : null;
    state.seen = new LinkedHashMap<>();
    state.position = 0;
    state.line = 0;
    state.digest = ContentChecksum.empty();
    state.checksum = ContentChecksum.empty().endLine();
    state.verified = null;
    state.parser = parser(file);
  }

  private static CatalogFeedParser parser(Path file) {
    Path base = file.toAbsolutePath().getParent();
    return new CatalogFeedParser(
        CatalogFeedParser.Format.of(file.getFileName().toString()),
        url -> base.resolve(url).normalize().toUri().toString());
  }

  /** For an offset of an older release: whether its first 4 KiB or its last line read changed. */
  private static boolean legacyReplaced(
      FileChannel channel, Map<String, Object> offset, long position) throws IOException {
    long lineStart = ((Number) offset.getOrDefault("lineStart", 0L)).longValue();
    byte[] head = new byte[(int) Math.min(LEGACY_HEAD_BYTES, position)];
    readFully(channel, 0, head);
    if (crc(head, head.length) != ((Number) offset.getOrDefault("head", -1L)).longValue()) {
      return true;
    }
    byte[] last = new byte[(int) (position - lineStart)];
    readFully(channel, lineStart, last);
    int length = last.length;
    while (length > 0 && (last[length - 1] == '\n' || last[length - 1] == '\r')) {
      length--;
    }
    return crc(last, length) != ((Number) offset.getOrDefault("tail", -1L)).longValue();
  }

  private static void readFully(FileChannel channel, long position, byte[] into)
      throws IOException {
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

  /** At most {@code limit} bytes of a stream: what an offset says was read. */
  private static final class BoundedInputStream extends java.io.FilterInputStream {
    private long left;

    BoundedInputStream(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = super.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = super.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }
  }
}
