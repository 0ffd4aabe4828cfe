package io.lookalike.lifecycle;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * What {@code lookalike reembed} shows, the same for both stores: one progress bar while the new
 * model's replay catches up (on stderr), and one report of the quality gate with its verdict.
 */
public final class ReembedConsole {

  /**
   * One look at the replay.
   *
   * @param done records of {@code product-images} embedded so far, -1 when unknown
   * @param total records in {@code product-images}, -1 when unknown
   * @param lag records left to embed or index, -1 when unknown
   * @param refused why the model was refused meanwhile (e.g. its first batch was all NaN or zeros),
   *     null while it is not: following stops there
   */
  public record Step(long done, long total, long lag, boolean caughtUp, String refused) {

    public Step(long done, long total, long lag, boolean caughtUp) {
      this(done, total, lag, caughtUp, null);
    }

    /** Nothing more will come: caught up, or refused. */
    boolean over() {
      return caughtUp || refused != null;
    }
  }

  /** Reads where the replay is now. */
  @FunctionalInterface
  public interface Poll {
    Step next() throws Exception;
  }

  private ReembedConsole() {}

  /**
   * Polls every {@code pollMs} until the replay has caught up or the model is refused, with a
   * progress bar meanwhile; the last step.
   */
  public static Step follow(Poll poll, long pollMs) throws Exception {
    Step step = poll.next();
    if (step.over()) {
      return step;
    }
    try (ProgressBar bar =
        new ProgressBarBuilder()
            .setTaskName("Re-embedding")
            .setInitialMax(Math.max(1, step.total()))
            .setStyle(ProgressBarStyle.ASCII)
            .setUnit(" rec", 1)
            .showSpeed()
            .setConsumer(new ConsoleProgressBarConsumer(System.err))
            .startsFrom(Math.max(0, step.done()), Duration.ZERO)
            .build()) {
      while (!step.over()) {
        Thread.sleep(pollMs);
        step = poll.next();
        if (step.total() > 0) {
          bar.maxHint(step.total());
        }
        bar.stepTo(Math.max(0, step.done()));
        bar.setExtraMessage(" lag " + step.lag());
      }
      if (step.caughtUp()) {
        bar.stepTo(bar.getMax());
      }
    }
    return step;
  }

  /**
   * Prints the gate's numbers and, when the candidate fails, why nothing switches.
   *
   * @param previous the model searches use now
   * @param staysBehind what happens to the refused candidate, said after "stays active; "
   * @return whether the candidate passes the gate (some images sampled, recall at least {@code
   *     gate})
   */
  public static boolean report(
      PrintWriter out,
      PrintWriter err,
      QualityGate.Result check,
      String previous,
      double gate,
      String staysBehind) {
    out.printf(
        Locale.ROOT,
        "  near-duplicate recall@1: %.3f (%d of %d altered copies found their product first)%n",
        check.nearDuplicateRecall(),
        check.found(),
        check.sampled());
    out.printf(
        Locale.ROOT,
        "  agreement@1 with %s: %.3f (top-10 overlap %.2f)%n",
        previous,
        check.agreement(),
        check.top10Overlap());
    out.flush();
    if (check.sampled() == 0 || check.nearDuplicateRecall() < gate) {
      err.printf(
          Locale.ROOT,
          "Not switching: near-duplicate recall@1 %.3f is below the gate %.3f%s. %s stays active; "
              + "%s%n",
          check.nearDuplicateRecall(),
          gate,
          check.sampled() == 0 ? " (no indexed photo to sample)" : "",
          previous,
          staysBehind);
      err.flush();
      return false;
    }
    return true;
  }
}
