package io.lookalike.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the shipped Prometheus rules and Grafana dashboard (deploy/monitoring) and checks their
 * PromQL. No PromQL parser is published for Java (Maven Central has none; the reference parser is
 * Go's), so the check is structural and documented here: brackets balanced and properly nested,
 * strings closed, label matchers of the form {@code name op "value"}, range selectors that are
 * durations, no empty groups, no dangling binary operator; and it lists the metric names an
 * expression selects, which a test then looks up in a running local mode's /metrics.
 */
final class MonitoringFiles {

  static final Path DIR = repoRoot().resolve("deploy/monitoring");
  static final Path RULES = DIR.resolve("lookalike-rules.yml");
  static final Path DASHBOARD = DIR.resolve("lookalike-dashboard.json");

  private static final Pattern IDENT = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern MATCHER =
      Pattern.compile("\\s*[a-zA-Z_][a-zA-Z0-9_]*\\s*(=~|!~|!=|=)\\s*\"S\"\\s*");
  private static final Pattern RANGE =
      Pattern.compile("\\s*\\d+(ms|[smhdwy])(\\s*:\\s*(\\d+(ms|[smhdwy]))?)?\\s*");
  private static final Set<String> KEYWORDS =
      Set.of(
          "sum",
          "min",
          "max",
          "avg",
          "count",
          "stddev",
          "stdvar",
          "topk",
          "bottomk",
          "quantile",
          "count_values",
          "group",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "inf",
          "nan");
  private static final Set<String> LABEL_LIST_BEFORE =
      Set.of("by", "without", "on", "ignoring", "group_left", "group_right");

  private MonitoringFiles() {}

  /** One PromQL expression and where it is. */
  record Expr(String where, String promql) {}

  /** Every alerting and recording rule's expression. */
  static List<Expr> ruleExpressions() throws IOException {
    JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(RULES.toFile());
    List<Expr> out = new ArrayList<>();
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        String name =
            rule.hasNonNull("alert") ? rule.get("alert").asText() : rule.path("record").asText();
        out.add(new Expr("rule " + name, rule.path("expr").asText()));
      }
    }
    return out;
  }

  /** Names the rules' {@code record:} entries define. */
  static Set<String> recordedNames() throws IOException {
    JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(RULES.toFile());
    Set<String> out = new LinkedHashSet<>();
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        if (rule.hasNonNull("record")) {
          out.add(rule.get("record").asText());
        }
      }
    }
    return out;
  }

  /** Every dashboard panel target's expression. */
  static List<Expr> dashboardExpressions() throws IOException {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    List<Expr> out = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        out.add(new Expr("panel " + panel.path("title").asText(), target.path("expr").asText()));
      }
    }
    return out;
  }

  /** What is wrong with the expression's structure; empty when nothing is found. */
  static List<String> problems(String promql) {
    List<String> problems = new ArrayList<>();
    if (promql == null || promql.isBlank()) {
      return List.of("empty expression");
    }
    String s = withoutStrings(promql, problems);
    Deque<int[]> open = new ArrayDeque<>();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '(' || c == '[' || c == '{') {
        open.push(new int[] {c, i});
      } else if (c == ')' || c == ']' || c == '}') {
        char want = c == ')' ? '(' : c == ']' ? '[' : '{';
        if (open.isEmpty() || open.peek()[0] != want) {
          problems.add("unbalanced '" + c + "' at " + i);
          return problems;
        }
        int start = open.pop()[1];
        String inside = s.substring(start + 1, i);
        if (c == '}' && !inside.isBlank()) {
          for (String matcher : inside.split(",", -1)) {
            if (!MATCHER.matcher(matcher).matches() && !matcher.isBlank()) {
              problems.add("bad label matcher '" + matcher.strip() + "'");
            }
          }
        } else if (c == ']' && !RANGE.matcher(inside).matches()) {
          problems.add("bad range '[" + inside + "]'");
        } else if (c == ')' && inside.isBlank() && !precededByFunction(s, start)) {
          problems.add("empty parentheses at " + start);
        }
      }
    }
    if (!open.isEmpty()) {
      problems.add("unclosed '" + (char) open.peek()[0] + "' at " + open.peek()[1]);
    }
    String trimmed = s.strip();
    if (trimmed.matches(".*(\\+|-|\\*|/|%|\\^|==|!=|>=|<=|>|<|\\band|\\bor|\\bunless)$")) {
      problems.add("ends with a binary operator");
    }
    return problems;
  }

  /**
   * The metric (or recorded series) names the expression selects: identifiers outside label
   * matchers, not functions, keywords, label lists ({@code by (...)}) or numbers.
   */
  static Set<String> metricNames(String promql) {
    String s = withoutStrings(promql, new ArrayList<>());
    Set<String> names = new LinkedHashSet<>();
    Matcher m = IDENT.matcher(s);
    int braces = 0;
    int scanned = 0;
    boolean labelList = false;
    int labelListDepth = -1;
    int depth = 0;
    while (m.find()) {
      for (int i = scanned; i < m.start(); i++) {
        char c = s.charAt(i);
        if (c == '{') {
          braces++;
        } else if (c == '}') {
          braces--;
        } else if (c == '(') {
          depth++;
          if (labelList && labelListDepth < 0) {
            labelListDepth = depth;
          }
        } else if (c == ')') {
          if (depth == labelListDepth) {
            labelList = false;
            labelListDepth = -1;
          }
          depth--;
        }
      }
      scanned = m.end();
      String word = m.group();
      boolean inLabelList = labelList && labelListDepth > 0;
      boolean isNumberPart = m.start() > 0 && Character.isDigit(s.charAt(m.start() - 1));
      boolean function = s.substring(m.end()).stripLeading().startsWith("(");
      if (braces == 0
          && !inLabelList
          && !isNumberPart
          && !function
          && !KEYWORDS.contains(word.toLowerCase(java.util.Locale.ROOT))
          && !inRange(s, m.start())) {
        names.add(word);
      }
      if (LABEL_LIST_BEFORE.contains(word) && !inLabelList) {
        labelList = true;
        labelListDepth = -1;
      }
    }
    return names;
  }

  private static boolean inRange(String s, int at) {
    int open = s.lastIndexOf('[', at);
    return open >= 0 && s.indexOf(']', open) > at;
  }

  private static boolean precededByFunction(String s, int paren) {
    String before = s.substring(0, paren).stripTrailing();
    Matcher m = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*$").matcher(before);
    return m.find();
  }

  /** Replaces each double-quoted string by {@code "S"}, noting an unclosed one. */
  private static String withoutStrings(String promql, List<String> problems) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < promql.length(); i++) {
      char c = promql.charAt(i);
      if (c != '"') {
        out.append(c);
        continue;
      }
      int j = i + 1;
      while (j < promql.length() && promql.charAt(j) != '"') {
        j += promql.charAt(j) == '\\' ? 2 : 1;
      }
      if (j >= promql.length()) {
        problems.add("unclosed string at " + i);
        return out.toString();
      }
      out.append("\"S\"");
      i = j;
    }
    return out.toString();
  }

  private static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("deploy/monitoring"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("No deploy/monitoring above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
