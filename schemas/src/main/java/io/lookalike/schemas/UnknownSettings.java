package io.lookalike.schemas;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.commons.text.similarity.LevenshteinDistance;
import org.apache.kafka.common.config.ConfigDef;
import org.slf4j.Logger;

/**
 * Finds settings nobody reads, so that a mistyped key ({@code embed.batch.size}) is reported at
 * start-up with the nearest known one ({@code embed.batch.max.size}) instead of being silently
 * ignored.
 */
public final class UnknownSettings {

  /**
   * Values of keys that look like secrets (or are nearest to one) are not repeated in the warning.
   */
  private static final java.util.regex.Pattern SECRET =
      java.util.regex.Pattern.compile("(?i)(secret|token|password|credential|auth)");

  private UnknownSettings() {}

  /**
   * One line per setting of {@code settings} that {@code known} does not accept, in key order, e.g.
   * {@code unknown setting embed.batch.size=16 — did you mean embed.batch.max.size?}.
   *
   * @param candidates the keys to suggest from
   */
  public static List<String> describe(
      Map<?, ?> settings, Predicate<String> known, Collection<String> candidates) {
    List<String> problems = new ArrayList<>();
    new TreeMap<>(
            settings.entrySet().stream()
                .collect(
                    Collectors.toMap(
                        e -> String.valueOf(e.getKey()),
                        e -> String.valueOf(e.getValue()),
                        (a, b) -> a)))
        .forEach(
            (key, value) -> {
              if (!known.test(key)) {
                String nearest = nearest(key, candidates);
                boolean secret =
                    SECRET.matcher(key).find()
                        || (nearest != null && SECRET.matcher(nearest).find());
                problems.add(
                    "unknown setting "
                        + key
                        + "="
                        + (secret ? "[hidden]" : value)
                        + (nearest == null
                            ? " (no known setting is close)"
                            : " — did you mean " + nearest + "?"));
              }
            });
    return problems;
  }

  /**
   * Warns about the keys of a connector's or stage's properties that look like ours (their first
   * part, e.g. {@code feed.} or {@code milvus.}, is that of a key of {@code def}) but are not keys
   * of {@code def}. Keys of other prefixes belong to the Connect worker or the Kafka clients and
   * are left alone.
   */
  public static List<String> warnAboutOwnPrefixes(Map<?, ?> props, ConfigDef def, Logger log) {
    Set<String> names = def.names();
    Set<String> prefixes =
        names.stream().map(UnknownSettings::firstPart).collect(Collectors.toSet());
    Map<Object, Object> ours = new TreeMap<>();
    props.forEach(
        (k, v) -> {
          String key = String.valueOf(k);
          // topic.creation.* is Kafka Connect's own (topic creation by source connectors)
          if (prefixes.contains(firstPart(key)) && !key.startsWith("topic.creation.")) {
            ours.put(
                key,
                def.configKeys().containsKey(key)
                        && def.configKeys().get(key).type == ConfigDef.Type.PASSWORD
                    ? "[hidden]"
                    : v);
          }
        });
    List<String> problems = describe(ours, names::contains, names);
    problems.forEach(problem -> log.warn("{}", problem));
    return problems;
  }

  /**
   * The candidate closest to {@code key} by edit distance, or null when none is within half the
   * key's length. Candidates of the same first part ({@code embed.} for {@code embed.batch.size})
   * come first: a mistyped key is usually wrong in its last parts, and {@code feed.batch.size} is
   * closer by letters only.
   */
  public static String nearest(String key, Collection<String> candidates) {
    String sameFirstPart =
        closest(key, candidates.stream().filter(c -> firstPart(c).equals(firstPart(key))).toList());
    return sameFirstPart != null ? sameFirstPart : closest(key, candidates);
  }

  private static String closest(String key, Collection<String> candidates) {
    LevenshteinDistance distance = LevenshteinDistance.getDefaultInstance();
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      int d = distance.apply(key, candidate);
      if (d < bestDistance
          || (d == bestDistance && best != null && candidate.compareTo(best) < 0)) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best != null && bestDistance <= Math.max(2, key.length() / 2) ? best : null;
  }

  private static String firstPart(String key) {
    int dot = key.indexOf('.');
    return dot < 0 ? key : key.substring(0, dot);
  }
}
