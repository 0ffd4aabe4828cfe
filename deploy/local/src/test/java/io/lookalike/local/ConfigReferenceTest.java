package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigReferenceTest {

  @Test
  void shouldMatchTheCheckedInConfigurationPage() throws Exception {
    Path page =
        Path.of(System.getProperty("lookalike.repo.dir", "../.."), "docs", "configuration.md");

    assertThat(Files.exists(page) ? Files.readString(page) : "")
        .as(
            "docs/configuration.md differs from what the ConfigDefs generate; regenerate it with:%n  %s",
            ConfigReference.REGENERATE)
        .isEqualTo(ConfigReference.markdown());
  }

  @Test
  void shouldListEveryKeyOnce() {
    String md = ConfigReference.markdown();
    for (String key : ConfigCatalog.ourKeys()) {
      assertThat(md.split("\\| `" + java.util.regex.Pattern.quote(key) + "` \\|", -1))
          .as(key)
          .hasSize(2);
    }
  }
}
