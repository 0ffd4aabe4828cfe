package io.lookalike.local;

import java.util.List;

/**
 * A command cannot start; each problem is one line for the operator, naming the setting and the
 * value.
 */
final class StartupException extends RuntimeException {

  private final List<String> problems;

  StartupException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  List<String> problems() {
    return problems;
  }
}
