package io.lookalike.local;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.types.Password;
import picocli.CommandLine.Command;

/**
 * Renders the configuration reference, {@code docs/configuration.md}, from the ConfigDefs of {@link
 * ConfigCatalog}.
 */
public final class ConfigReference {

  /** How to bring docs/configuration.md up to date; the check in the tests prints it. */
  public static final String REGENERATE =
      "./mvnw -B -q -pl deploy/local -am package -DskipTests && "
          + "java -jar deploy/local/target/lookalike-local.jar settings > docs/configuration.md";

  private ConfigReference() {}

  /** {@code lookalike settings}: prints the reference. */
  @Command(
      name = "settings",
      mixinStandardHelpOptions = true,
      description =
          "Prints every setting (key, type, default, valid values, description) as Markdown: docs/configuration.md.")
  static final class Print implements Callable<Integer> {
    @Override
    public Integer call() {
      System.out.print(markdown());
      return 0;
    }
  }

  public static String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# Configuration reference\n\n")
        .append(
            "<!-- Generated from the ConfigDefs in the code; do not edit. Regenerate with:\n     ")
        .append(REGENERATE)
        .append(" -->\n\n")
        .append(
            "Every setting of every stage, library and connector. Give them after the command, "
                + "`lookalike local -Dembed.batch.max.size=16` (or `lookalike embedder -D...`), or in a connector's "
                + "configuration. Any Kafka client or Kafka Streams setting (`bootstrap.servers`, "
                + "`num.stream.threads`, `producer.compression.type`, ...) given with `-D` is passed on to the stage's "
                + "clients. A wrong value stops the start naming the key and the value; an unknown key is warned about "
                + "at start-up with the nearest known one. The fetcher, the embedder, the local mode and Lucene indexers join "
                + "their consumer groups as static members "
                + "(`group.instance.id` kept in the state or data directory, so that an instance restarted after a "
                + "crash takes its place at once): give `-Dgroup.instance.id=NAME` to choose it, "
                + "`-Dgroup.instance.id=` to turn it off (docs/distributed.md, Faults and recovery).\n");
    Set<String> shown = new HashSet<>();
    for (ConfigCatalog.Section section : ConfigCatalog.sections()) {
      md.append("\n## ")
          .append(section.title())
          .append("\n\nRead by ")
          .append(section.readBy())
          .append(".\n\n");
      List<ConfigDef.ConfigKey> keys =
          section.def().configKeys().values().stream()
              .filter(key -> !shown.contains(key.name))
              .toList();
      if (!keys.isEmpty()) {
        md.append("| key | type | default | valid values | importance | description |\n")
            .append("| --- | --- | --- | --- | --- | --- |\n");
        for (ConfigDef.ConfigKey key : keys) {
          md.append("| `")
              .append(key.name)
              .append("` | ")
              .append(key.type.name().toLowerCase())
              .append(" | ")
              .append(cell(defaultValue(key)))
              .append(" | ")
              .append(cell(validValues(key)))
              .append(" | ")
              .append(key.importance.name().toLowerCase())
              .append(" | ")
              .append(cell(key.documentation))
              .append(" |\n");
        }
      }
      List<String> alsoRead =
          section.def().configKeys().keySet().stream().filter(shown::contains).toList();
      if (!alsoRead.isEmpty()) {
        md.append(keys.isEmpty() ? "" : "\n")
            .append("Also reads ")
            .append(alsoRead.stream().map(k -> "`" + k + "`").collect(Collectors.joining(", ")))
            .append(" (above).\n");
      }
      section.def().configKeys().keySet().forEach(shown::add);
    }
    return md.toString();
  }

  private static String defaultValue(ConfigDef.ConfigKey key) {
    if (!key.hasDefault()) {
      return "(required)";
    }
    Object value = key.defaultValue;
    if (value == null) {
      return "(none)";
    }
    if (value instanceof Password) {
      return "(empty)";
    }
    if (value instanceof List<?> list) {
      return list.isEmpty()
          ? "(empty)"
          : "`" + list.stream().map(String::valueOf).collect(Collectors.joining(",")) + "`";
    }
    String text = String.valueOf(value);
    return text.isEmpty() ? "(empty)" : "`" + text + "`";
  }

  private static String validValues(ConfigDef.ConfigKey key) {
    if (key.validator == null) {
      return "";
    }
    String text = key.validator.toString();
    // a lambda or method reference has no readable toString: its rule is in the description
    return text.contains("$$Lambda") || text.matches(".*@[0-9a-f]+$") ? "see description" : text;
  }

  private static String cell(String text) {
    return text == null ? "" : text.replace("|", "\\|").replace("\n", " ");
  }
}
