package io.lookalike.local;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.config.ConfigException;
import picocli.CommandLine;

/**
 * How a command that fails is reported: one line per problem (the setting and the value, from a
 * {@link ConfigException} or a {@link StartupException}), the stack trace only with {@code
 * --verbose}.
 */
final class StartupErrors implements CommandLine.IExecutionExceptionHandler {

  static final int EXIT_CODE = 1;

  private final boolean verbose;

  StartupErrors(boolean verbose) {
    this.verbose = verbose;
  }

  @Override
  public int handleExecutionException(
      Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) {
    PrintWriter err = commandLine.getErr();
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof io.lookalike.schemas.DataDirLock.HeldException held) {
        // Another instance owns the data directory: its one line is the whole story (and the exit
        // code says so).
        err.println(held.getMessage());
        err.flush();
        return io.lookalike.schemas.DataDirLock.HeldException.EXIT_CODE;
      }
    }
    if (verbose) {
      e.printStackTrace(err);
    }
    for (String line : lines(e)) {
      err.println("lookalike " + commandLine.getCommandName() + ": " + line);
    }
    if (!verbose && !namesTheSetting(e)) {
      err.println("(run again with --verbose for the stack trace)");
    }
    err.flush();
    return EXIT_CODE;
  }

  /**
   * Whether the failure is a wrong setting or a start-up check, whose lines say all there is to
   * say.
   */
  private static boolean namesTheSetting(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof StartupException || t instanceof ConfigException) {
        return true;
      }
    }
    return false;
  }

  /** The lines to print for a failure: its problems, or its message and that of its root cause. */
  static List<String> lines(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof StartupException startup) {
        return startup.problems();
      }
      if (t instanceof ConfigException) {
        return List.of(t.getMessage());
      }
    }
    List<String> lines = new ArrayList<>();
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String top = message(e);
    lines.add(
        root == e || message(root).equals(top) ? top : top + " (cause: " + message(root) + ")");
    return lines;
  }

  private static String message(Throwable t) {
    return t.getMessage() == null || t.getMessage().isBlank()
        ? t.getClass().getSimpleName()
        : t.getMessage().lines().findFirst().orElse("").strip();
  }
}
