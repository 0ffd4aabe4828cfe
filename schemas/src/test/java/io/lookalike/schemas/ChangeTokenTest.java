package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Read-your-writes tokens survive their text form and refuse what is not one. */
class ChangeTokenTest {

  @Test
  void shouldRoundTripProductVersionsThroughItsTextForm() {
    ChangeToken token =
        new ChangeToken(
            List.of(
                new ChangeToken.Change("p 1/ü", 3, false),
                new ChangeToken.Change("p2", 1_700_000_000_000L, true)));

    String text = token.encode();

    assertThat(text).startsWith("ct1.").matches("[A-Za-z0-9._-]+");
    assertThat(ChangeToken.decode(text)).isEqualTo(token);
  }

  @Test
  void shouldRefuseWhatIsNotAToken() {
    assertThatThrownBy(() -> ChangeToken.decode("nonsense")).hasMessageContaining("ct1.");
    assertThatThrownBy(() -> ChangeToken.decode("ct1.%%%")).hasMessageContaining("not a change");
    assertThatThrownBy(() -> ChangeToken.decode("ct1.WCAxIHA")).hasMessageContaining("bad entry");
    assertThatThrownBy(() -> new ChangeToken(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
