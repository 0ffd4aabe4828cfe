package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ErrorCodeTest {

  @Test
  void shouldListEveryErrorCodeInTheApiPage() throws Exception {
    String page =
        Files.readString(Path.of(System.getProperty("lookalike.repo.dir", ".."), "docs", "api.md"));

    assertThat(page)
        .as(
            "docs/api.md must hold ErrorCode.markdownTable(); replace its error table with:%n%s",
            ErrorCode.markdownTable())
        .contains(ErrorCode.markdownTable());
  }

  @Test
  void shouldHaveUniqueCodesWithAnErrorStatus() {
    assertThat(Arrays.stream(ErrorCode.values()).map(ErrorCode::code))
        .doesNotHaveDuplicates()
        .allMatch(code -> code.matches("[a-z_]+"));
    assertThat(ErrorCode.values())
        .allMatch(e -> e.status() >= 400 && e.status() < 600 && !e.description().isBlank());
  }

  @Test
  void shouldMapImageRejectionReasonsToTheirStatus() {
    assertThat(SearchException.rejectedImage("too_many_pixels", "x", null).status()).isEqualTo(413);
    assertThat(SearchException.rejectedImage("unsupported_type", "x", null).status())
        .isEqualTo(415);
    assertThat(
            SearchException.rejectedImage("corrupt_image", "javax.imageio.IIOException: x", null)
                .getMessage())
        .isEqualTo("the image could not be decoded");
    assertThat(SearchException.rejectedImage("invalid_event", "x", null).error())
        .isEqualTo(ErrorCode.BAD_REQUEST);
  }
}
