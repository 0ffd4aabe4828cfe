#!/usr/bin/env bash
# Runs a Kafka main class on /opt/kafka/libs, as Kafka's kafka-run-class.sh does.
set -euo pipefail
exec java ${KAFKA_HEAP_OPTS:--Xmx1g} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} ${KAFKA_OPTS:-} \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' "$@"
