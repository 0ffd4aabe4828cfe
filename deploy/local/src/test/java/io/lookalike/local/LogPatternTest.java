package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.io.InputStream;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class LogPatternTest {

  @Test
  void shouldPrintTheMdcOfARecordAndNothingWithoutOne() throws Exception {
    PatternLayout layout = shippedLayout();

    String withMdc =
        layout.doLayout(event(Map.of("stage", "fetcher", "partition", "1", "key", "p42")));
    String withoutMdc = layout.doLayout(event(Map.of()));

    assertThat(withMdc)
        .contains("WARN  FetcherProcessor [")
        .contains("stage=fetcher")
        .contains("partition=1")
        .contains("key=p42")
        .endsWith("] - image too large\n");
    assertThat(withoutMdc).endsWith(" WARN  FetcherProcessor - image too large\n");
  }

  private static PatternLayout shippedLayout() throws Exception {
    String xml;
    try (InputStream in = LogPatternTest.class.getResourceAsStream("/logback.xml")) {
      xml = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    Matcher m = Pattern.compile("<pattern>(.*?)</pattern>").matcher(xml);
    assertThat(m.find()).as("a <pattern> in the shipped logback.xml").isTrue();
    PatternLayout layout = new PatternLayout();
    layout.setContext(new LoggerContext());
    layout.setPattern(m.group(1));
    layout.start();
    return layout;
  }

  private static LoggingEvent event(Map<String, String> mdc) {
    LoggerContext context = new LoggerContext();
    LoggingEvent event =
        new LoggingEvent(
            "x",
            context.getLogger("io.lookalike.ingest.FetcherProcessor"),
            Level.WARN,
            "image too large",
            null,
            null);
    event.setMDCPropertyMap(mdc);
    return event;
  }
}
