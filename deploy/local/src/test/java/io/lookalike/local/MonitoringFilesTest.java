package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shipped alert rules and dashboard parse and their PromQL is well-formed (the metric names are
 * checked against a running local mode in ReembedIT).
 */
class MonitoringFilesTest {

  @Test
  void shouldParseTheRulesAndDashboardWithWellFormedExpressions() throws Exception {
    List<MonitoringFiles.Expr> all = new ArrayList<>(MonitoringFiles.ruleExpressions());
    all.addAll(MonitoringFiles.dashboardExpressions());

    assertThat(MonitoringFiles.ruleExpressions()).hasSizeGreaterThanOrEqualTo(8);
    assertThat(MonitoringFiles.dashboardExpressions()).hasSizeGreaterThanOrEqualTo(9);
    for (MonitoringFiles.Expr expr : all) {
      assertThat(MonitoringFiles.problems(expr.promql())).as(expr.toString()).isEmpty();
      assertThat(MonitoringFiles.metricNames(expr.promql())).as(expr.toString()).isNotEmpty();
    }
  }

  @Test
  void shouldUseOnlyRecordedSeriesThatTheRulesDefine() throws Exception {
    Set<String> recorded = MonitoringFiles.recordedNames();
    for (MonitoringFiles.Expr expr : MonitoringFiles.ruleExpressions()) {
      for (String name : MonitoringFiles.metricNames(expr.promql())) {
        if (name.contains(":")) {
          assertThat(recorded).as(expr.toString()).contains(name);
        }
      }
    }
  }

  @Test
  void shouldCoverLagFreshnessDeadLettersSearchLatencyAndModelState() throws Exception {
    String alerts = MonitoringFiles.ruleExpressions().toString();

    assertThat(alerts)
        .contains("lookalike_pipeline_lag")
        .contains("lookalike_freshness_seconds_bucket{le=\"2.0\"}")
        .contains("lookalike_fetcher_rejected_total")
        .contains("lookalike_embedder_rejected_total")
        .contains("lookalike_gateway_search_seconds_bucket")
        .contains("lookalike_model_refused")
        .contains("lookalike_model_active");
  }

  @Test
  void shouldCatchMalformedExpressions() {
    assertThat(MonitoringFiles.problems("sum(rate(x_total[5m])")).isNotEmpty();
    assertThat(MonitoringFiles.problems("rate(x_total[5m)]")).isNotEmpty();
    assertThat(MonitoringFiles.problems("x_total{le=2.0}")).isNotEmpty();
    assertThat(MonitoringFiles.problems("x_total{le=\"2.0}")).isNotEmpty();
    assertThat(MonitoringFiles.problems("rate(x_total[five])")).isNotEmpty();
    assertThat(MonitoringFiles.problems("x_total >")).isNotEmpty();
    assertThat(MonitoringFiles.problems("sum by (le) (rate(x_bucket{a=\"b\", c!~\"d\"}[5m])) > 1"))
        .isEmpty();
    assertThat(
            MonitoringFiles.metricNames(
                "histogram_quantile(0.99, sum by (le, model) (rate(a_bucket{outcome=\"ok\"}[5m])))"
                    + " and on (model) (b == 1) or vector(0)"))
        .containsExactly("a_bucket", "b");
    assertThat(MonitoringFiles.metricNames("sum by (by, outcome) (rate(c_count[1m]))"))
        .containsExactly("c_count");
  }
}
