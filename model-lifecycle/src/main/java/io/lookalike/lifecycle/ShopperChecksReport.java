package io.lookalike.lifecycle;

import java.io.PrintWriter;
import java.util.Locale;

/** Prints {@link ShopperChecks.Result} for the reembed commands. */
public final class ShopperChecksReport {

  private ShopperChecksReport() {}

  public static void print(PrintWriter out, ShopperChecks.Result r, String previous) {
    if (r.precisionQueries() == 0) {
      out.printf(
          Locale.ROOT,
          "  %s precision@10: not measured (no sampled photo has %s metadata)%n",
          r.field(),
          r.field());
    } else {
      out.printf(
          Locale.ROOT,
          "  %s precision@10: %.3f (%s: %.3f) on %d held-out photos%n",
          r.field(),
          r.candidatePrecision(),
          previous,
          r.currentPrecision(),
          r.precisionQueries());
    }
    out.printf(
        Locale.ROOT,
        "  overlay recall@1: %.3f (%s: %.3f); scene recall@1: %.3f (%s: %.3f) on %d photos%n",
        r.candidateOverlayRecall(),
        previous,
        r.currentOverlayRecall(),
        r.candidateSceneRecall(),
        previous,
        r.currentSceneRecall(),
        r.alteredQueries());
    out.flush();
  }
}
