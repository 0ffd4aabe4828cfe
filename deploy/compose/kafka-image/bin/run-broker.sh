#!/usr/bin/env bash
# The broker from the environment, as apache/kafka's image reads it: KAFKA_FOO_BAR=x -> foo.bar=x
# (___ -> -, __ -> _), CLUSTER_ID for the first format of the log directory.
set -euo pipefail
props=/opt/kafka/config/server.properties
: > "$props"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_VERSION) continue ;;
    KAFKA_*) key="${name#KAFKA_}"; key="${key,,}"; key="${key//___/-}"; key="${key//__/@}"; key="${key//_/.}"; key="${key//@/_}"
             printf '%s=%s\n' "$key" "$value" >> "$props" ;;
  esac
done < <(env)
: "${CLUSTER_ID:?CLUSTER_ID is required (22 characters of base64, e.g. from kafka-storage.sh random-uuid)}"
KAFKA_HEAP_OPTS=-Xmx256m /opt/kafka/bin/java-run.sh kafka.tools.StorageTool format --ignore-formatted \
  -t "$CLUSTER_ID" -c "$props"
exec /opt/kafka/bin/java-run.sh kafka.Kafka "$props"
