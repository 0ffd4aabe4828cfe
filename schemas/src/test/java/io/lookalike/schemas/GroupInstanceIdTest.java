package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupInstanceIdTest {

  @TempDir Path tmp;

  @Test
  void shouldKeepTheSameIdForADirectoryAndAnotherForAnother() {
    String first = GroupInstanceId.of(tmp.resolve("a"));
    assertThat(first).matches("lookalike-[0-9a-f]{12}");
    assertThat(GroupInstanceId.of(tmp.resolve("a"))).isEqualTo(first);
    assertThat(GroupInstanceId.of(tmp.resolve("b"))).isNotEqualTo(first);
  }

  @Test
  void shouldRefuseAFileThatHoldsNoId() throws Exception {
    Files.writeString(tmp.resolve(GroupInstanceId.FILE_NAME), "not an id\n");
    assertThatThrownBy(() -> GroupInstanceId.of(tmp))
        .hasMessageContaining(tmp.resolve(GroupInstanceId.FILE_NAME).toString())
        .hasMessageContaining("delete it");
  }

  @Test
  void shouldMakeTheMainConsumerAStaticMemberByDefault() {
    Properties props = StreamsApp.withInstanceId("App", new Properties(), tmp);
    assertThat(props.getProperty("main.consumer.group.instance.id"))
        .isEqualTo(GroupInstanceId.of(tmp));
  }

  @Test
  void shouldUseAGivenIdAsItIs() {
    Properties given = new Properties();
    given.put("group.instance.id", "pod-3");
    Properties props = StreamsApp.withInstanceId("App", given, tmp);
    assertThat(props.getProperty("group.instance.id")).isEqualTo("pod-3");
    assertThat(props).doesNotContainKey("main.consumer.group.instance.id");
  }

  @Test
  void shouldTurnStaticMembershipOffWithAnEmptyId() {
    Properties given = new Properties();
    given.put("group.instance.id", "");
    Properties props = StreamsApp.withInstanceId("App", given, tmp);
    assertThat(props.stringPropertyNames()).noneMatch(k -> k.endsWith("group.instance.id"));
  }

  @Test
  void shouldLeaveTheStreamsProtocolWithoutStaticMembershipWhichItRefuses() {
    Properties given = new Properties();
    given.put("group.protocol", "streams");
    Properties props = StreamsApp.withInstanceId("App", given, tmp);
    assertThat(props.stringPropertyNames()).noneMatch(k -> k.endsWith("group.instance.id"));
  }
}
