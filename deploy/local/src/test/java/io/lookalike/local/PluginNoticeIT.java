package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each built plugin zip's doc/NOTICE names every third-party jar in its lib/ (with its license) and
 * carries the text of every META-INF/NOTICE those jars hold, and names no jar the zip lacks.
 */
class PluginNoticeIT {

  private static final Pattern LISTED = Pattern.compile("(?m)^  lib/(\\S+\\.jar): \\S.*$");

  @ParameterizedTest
  @CsvSource({
    "ingest-connector, lookalike-catalog-feed-connector",
    "indexer-sink, lookalike-indexer-sink"
  })
  void noticeNamesEveryBundledJarAndCarriesTheirNotices(String module, String name)
      throws IOException {
    Path zip = pluginZip(module, name);
    String notice = null;
    Map<String, String> jarNotices = new LinkedHashMap<>(); // jar -> its NOTICE text
    TreeSet<String> jars = new TreeSet<>();
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
        String path = entry.getName();
        if (path.equals(name + "/doc/NOTICE")) {
          notice = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } else if (path.startsWith(name + "/lib/") && path.endsWith(".jar")) {
          String jar = path.substring(path.lastIndexOf('/') + 1);
          if (!jar.startsWith("lookalike-")) {
            jars.add(jar);
            String text = metaInfNotice(in.readAllBytes());
            if (text != null) {
              jarNotices.put(jar, text);
            }
          }
        }
      }
    }
    assertThat(notice).as("doc/NOTICE in " + zip).isNotNull();
    TreeSet<String> listed = new TreeSet<>();
    Matcher m = LISTED.matcher(notice);
    while (m.find()) {
      listed.add(m.group(1));
    }
    assertThat(listed)
        .as("the jars %s's NOTICE names (src/assembly/NOTICE) against its lib/", name)
        .isEqualTo(jars);
    String flat = flatten(notice);
    jarNotices.forEach(
        (jar, text) ->
            assertThat(flat)
                .as("%s's META-INF/NOTICE in %s's NOTICE", jar, name)
                .contains(flatten(text)));
  }

  /** The text of a jar's top-level META-INF/NOTICE or NOTICE.txt, or null. */
  private static String metaInfNotice(byte[] jar) throws IOException {
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(jar))) {
      for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
        String path = entry.getName().toUpperCase(java.util.Locale.ROOT);
        if (path.startsWith("META-INF/NOTICE") && path.indexOf('/', 9) < 0) {
          return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
      }
    }
    return null;
  }

  private static String flatten(String text) {
    return text.replaceAll("\\s+", " ").strip();
  }

  private static Path pluginZip(String module, String name) throws IOException {
    Path target = Path.of("..", "..", module, "target");
    try (Stream<Path> files = Files.list(target)) {
      return files
          .filter(p -> p.getFileName().toString().matches(name + "-.+-plugin\\.zip"))
          .max(java.util.Comparator.comparing(p -> p.toFile().lastModified())) // the latest build
          .orElseThrow(
              () -> new AssertionError("No " + name + "-*-plugin.zip in " + target + ": -am"));
    }
  }
}
