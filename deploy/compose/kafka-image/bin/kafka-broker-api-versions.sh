#!/usr/bin/env bash
KAFKA_HEAP_OPTS=-Xmx64m KAFKA_JVM_PERFORMANCE_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1" \
  exec /opt/kafka/bin/java-run.sh org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
