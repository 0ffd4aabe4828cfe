package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * A gate or shadow minimum outside [0, 1] disabled the check (-0.2) or could never pass (1.5):
 * refused before anything runs.
 */
class ReembedGateOptionTest {

  @ParameterizedTest
  @CsvSource({
    "--gate, -0.2",
    "--gate, 1.5",
    "--gate, NaN",
    "--max-drop, -0.1",
    "--max-drop, 2",
    "--shadow-min-overlap, 1.5",
    "--shadow-min-overlap, -0.1",
    "--shadow-min-overlap, NaN",
    "--shadow-min-agreement, 2"
  })
  void shouldRefuseAGateOutsideZeroToOneAtOnce(String option, String value) throws Exception {
    int unusedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      unusedPort =
          socket.getLocalPort(); // nothing listens: the command must stop before calling it
    }
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new Lookalike());
    command.setOut(new PrintWriter(new StringWriter(), true));
    command.setErr(new PrintWriter(err, true));

    int exit =
        command.execute(
            "reembed",
            "--model",
            "models/next.pt",
            "--gateway",
            "http://127.0.0.1:" + unusedPort,
            option,
            value);

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString())
        .contains(option + " must be")
        .contains("between 0 and 1")
        .contains("got")
        .doesNotContain("Cannot reach the gateway");
  }
}
