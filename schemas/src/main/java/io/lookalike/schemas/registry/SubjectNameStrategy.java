package io.lookalike.schemas.registry;

import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;

/** How a record value's registry subject is named, as Confluent's serializers name it. */
public enum SubjectNameStrategy {
  /** {@code <topic>-value}: one schema (and its evolution) per topic. The default. */
  TOPIC("TopicNameStrategy"),
  /** {@code <record full name>}: one subject per record type, shared by topics. */
  RECORD("RecordNameStrategy"),
  /** {@code <topic>-<record full name>}. */
  TOPIC_RECORD("TopicRecordNameStrategy");

  private final String configName;

  SubjectNameStrategy(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  /** The subject of a value of {@code schema} on {@code topic}. */
  public String subject(String topic, Schema schema) {
    return switch (this) {
      case TOPIC -> topic + "-value";
      case RECORD -> schema.getFullName();
      case TOPIC_RECORD -> topic + "-" + schema.getFullName();
    };
  }

  /** Our short names, or Confluent's class names ending in them. */
  static SubjectNameStrategy parse(String key, String value) {
    if (value != null) {
      String simple = value.substring(value.lastIndexOf('.') + 1);
      for (SubjectNameStrategy s : values()) {
        if (s.configName.equals(simple)) {
          return s;
        }
      }
    }
    throw new ConfigException(
        key, value, "must be TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy");
  }
}
