#!/usr/bin/env bash
exec /opt/kafka/bin/java-run.sh org.apache.kafka.connect.cli.ConnectDistributed "$@"
