#!/usr/bin/env bash
# The distributed mode started for real from compose.yaml with podman-compose: builds the images, brings the
# stack up, publishes products through the webhook and through Kafka, checks each becomes searchable by its
# photo through the gateway container, kills the embedder container mid-stream and starts it again, checks
# nothing was lost, and tears everything down (also on failure, after saving the logs).
#
#   deploy/compose/smoke.sh            # needs root podman + podman-compose (see docs/distributed.md)
#
# No registry is needed: the images are built here, on a JRE base made from Debian packages
# (deploy/image/make-debian-base.sh), or on SMOKE_BASE if you have one. Kafka is an image of Kafka's own jars
# from Maven Central (kafka-image/). Milvus cannot run here: MILVUS_IMAGE points at the Milvus PROTOCOL
# DOUBLE of vector-store's tests (in memory, exact search, not Milvus), image lookalike-milvus-protocol-double.
# compose.yaml's defaults stay apache/kafka and milvusdb/milvus.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
T0=$(date +%s)
PROJECT="${SMOKE_PROJECT:-lookalike-smoke}"
WORK="$ROOT/deploy/compose/target/smoke"
BASE="${SMOKE_BASE:-localhost/lookalike-base:bookworm-jre17}"
PHOTOS="${SMOKE_PHOTOS:-$ROOT/../shared/datasets/clothing-small/test}"
VERSION="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' deploy/local/pom.xml | head -1)"
MVN=(./mvnw -B -q)

log() { echo "[smoke $(( $(date +%s) - T0 ))s] $*"; }
fail() { log "FAILED: $*"; exit 1; }
command -v podman >/dev/null && command -v podman-compose >/dev/null || fail "needs podman and podman-compose"
mkdir -p "$WORK"
# Settings a host without systemd and with a hybrid cgroup layout needs (CI's): harmless elsewhere.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' > "$WORK/containers.conf"
  export CONTAINERS_CONF="$WORK/containers.conf"
fi

# --- build ---
if [ "${SMOKE_SKIP_BUILD:-}" != true ]; then
  log "building the jars"
  "${MVN[@]}" -pl deploy/local -am package -DskipTests
fi
"${MVN[@]}" -f deploy/compose/kafka-image/pom.xml package
"${MVN[@]}" -f deploy/compose/milvus-protocol-double/pom.xml package
DOUBLE=deploy/compose/milvus-protocol-double
rm -rf "$DOUBLE/target/classes" && mkdir -p "$DOUBLE/target/classes"
javac -nowarn -cp "$DOUBLE/target/libs/*" -d "$DOUBLE/target/classes" \
  vector-store/src/test/java/io/lookalike/store/milvus/MilvusProtocolDouble.java \
  vector-store/src/test/java/io/lookalike/store/milvus/MilvusProtocolDoubleServer.java 2>/dev/null
if [[ "$BASE" == localhost/* ]]; then
  deploy/image/make-debian-base.sh "$BASE"
fi
log "building the images"
deploy/image/build.sh --base "$BASE" --tag "localhost/lookalike:$VERSION" | tail -1
podman build -q --format docker --build-arg BASE="$BASE" -t localhost/lookalike-kafka-from-maven-jars:4.3.1 deploy/compose/kafka-image >/dev/null
podman build -q --format docker --build-arg BASE="$BASE" -t "localhost/lookalike-milvus-protocol-double:$VERSION" "$DOUBLE" >/dev/null
T_BUILT=$(date +%s)

# --- the catalog: 8 photos of the test split, served to the fetcher as file: URLs ---
rm -rf "$WORK/images" && mkdir -p "$WORK/images"
mapfile -t FILES < <(find "$PHOTOS" -name '*.jpg' | sort | awk 'NR % 7 == 1' | head -8)
[ "${#FILES[@]}" -eq 8 ] || fail "needs 8 photos under $PHOTOS"
for i in "${!FILES[@]}"; do cp "${FILES[$i]}" "$WORK/images/p$((i + 1)).jpg"; done
chmod -R a+rX "$WORK/images"

# The webhook takes http(s) image URLs only: its products' photos come from the image-server container
# (image-server/ImageServer.java), which the fetcher is allowed to reach (LOOKALIKE_FETCH_ALLOWED_HOSTS).
event() { # productId version category
  printf '{"eventId": "smoke-%s-%s", "type": "UPSERT", "productId": "%s", "version": %s, "occurredAt": "%s", "product": {"title": "Smoke %s", "brand": "Smoke", "category": "%s", "price": {"amount": 10.5, "currency": "EUR"}, "availability": "IN_STOCK"}, "images": [{"imageId": "main", "position": 0, "url": "http://images:8000/%s.jpg"}]}' \
    "$1" "$2" "$1" "$2" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$3" "$1"
}

export KAFKA_IMAGE=localhost/lookalike-kafka-from-maven-jars:4.3.1
export MILVUS_IMAGE="localhost/lookalike-milvus-protocol-double:$VERSION"
export LOOKALIKE_IMAGE="localhost/lookalike:$VERSION"
export LOOKALIKE_VERSION="$VERSION"
export LOOKALIKE_WEBHOOK_SECRET="smoke-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export LOOKALIKE_FETCH_ALLOW_FILE=true
export LOOKALIKE_FILE_IMAGES_DIR="$WORK/images"
export LOOKALIKE_FETCH_ALLOWED_HOSTS=images
# --pull=never: nothing is pulled. podman-compose 1.0.3 starts a service's dependencies even with --no-deps, so
# it tries Milvus's etcd and MinIO too; with no image for them they fail to start, which this stack does not need.
COMPOSE=(podman-compose -p "$PROJECT" --podman-run-args=--pull=never -f deploy/compose/compose.yaml)
SERVICES=(kafka connect milvus fetcher webhook embedder gateway)

teardown() {
  local rc=$?
  mkdir -p "$WORK/logs"
  for s in "${SERVICES[@]}"; do podman logs "${PROJECT}_${s}_1" > "$WORK/logs/$s.log" 2>&1 || true; done
  podman rm -f "${PROJECT}_images" >/dev/null 2>&1 || true
  "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
  podman network rm "${PROJECT}_default" >/dev/null 2>&1 || true
  [ $rc -eq 0 ] || log "logs of every container: $WORK/logs"
  exit $rc
}
trap teardown EXIT

# Waits up to $1 seconds for the command after it to succeed.
await() {
  local limit=$1; shift
  local until=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || return 1
    sleep 3
  done
}
post_event() { # event json: 202 from the webhook; a 4xx is a failure at once, not a retry
  local status
  status=$(curl -sS -o "$WORK/webhook.out" -w '%{http_code}' -X POST http://127.0.0.1:8081/v1/events \
    -H "Authorization: Bearer $LOOKALIKE_WEBHOOK_SECRET" -H 'Content-Type: application/json' -d "$1") || return 1
  case "$status" in
    202) return 0 ;;
    4*) log "webhook answered $status: $(cat "$WORK/webhook.out")"; exit 1 ;;
    *) return 1 ;;
  esac
}
top_hit() { # photo -> productId of the best match
  curl -fsS --data-binary @"$1" -H 'Content-Type: image/jpeg' 'http://127.0.0.1:8080/v1/search?k=3' \
    | python3 -c 'import json, sys; r = json.load(sys.stdin)["results"]; print(r[0]["productId"] if r else "")'
}
searchable() { # productId...: each one's photo finds it first
  for p in "$@"; do [ "$(top_hit "$WORK/images/$p.jpg")" = "$p" ] || return 1; done
}

# --- up ---
"${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
log "up: ${SERVICES[*]} (Milvus is the protocol double: $MILVUS_IMAGE)"
T_UP=$(date +%s)
# --no-deps: etcd and MinIO are Milvus's own stores, which the double does not need.
"${COMPOSE[@]}" up -d --no-deps "${SERVICES[@]}" > "$WORK/up.log" 2>&1 || true
podman run -d --name "${PROJECT}_images" --network "${PROJECT}_default" --network-alias images --pull=never \
  -v "$WORK/images:/srv/images:ro" -v "$ROOT/deploy/compose/image-server:/opt/image-server:ro" \
  "$BASE" java -Xmx64m -XX:+UseSerialGC /opt/image-server/ImageServer.java /srv/images >/dev/null
for s in "${SERVICES[@]}"; do podman container exists "${PROJECT}_${s}_1" || { cat "$WORK/up.log"; fail "no container for $s"; }; done
await 900 curl -fsS http://127.0.0.1:8083/connectors || fail "Kafka Connect's REST API did not come up"
curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' --data @deploy/compose/connect-sink.json \
  http://127.0.0.1:8083/connectors/lookalike-sink/config || fail "the sink connector was refused"
log "sink connector created"

log "publishing p1..p4 through the webhook"
for p in p1 p2 p3 p4; do await 600 post_event "$(event $p 1 smoke)" || fail "webhook refused $p"; done
log "publishing p5, p6 through Kafka (lookalike load)"
: > "$WORK/catalog.jsonl"
for p in p5 p6; do
  printf '{"productId": "%s", "version": 1, "title": "Smoke %s", "brand": "Smoke", "category": "smoke", "price": 10.5, "currency": "EUR", "availability": "IN_STOCK", "images": [{"imageId": "main", "position": 0, "url": "file:/var/lib/lookalike-images/%s.jpg"}]}\n' "$p" "$p" "$p" >> "$WORK/catalog.jsonl"
done
java -Dai.djl.offline=true -jar deploy/local/target/lookalike-local.jar load "$WORK/catalog.jsonl" -b 127.0.0.1:29092 > "$WORK/load.log" 2>&1 \
  || { cat "$WORK/load.log"; fail "lookalike load"; }

await 900 searchable p1 || fail "p1 never became searchable"
T_FIRST=$(date +%s)
log "first answered search: $(( T_FIRST - T_UP ))s after up"
await 600 searchable p1 p2 p3 p4 p5 p6 || fail "not every product became searchable"
log "p1..p6 searchable by photo through the gateway container"

# --- kill a stage mid-stream ---
log "killing the embedder, publishing p7, p8 while it is down"
podman kill "${PROJECT}_embedder_1" >/dev/null
for p in p7 p8; do post_event "$(event $p 1 smoke)" || fail "webhook refused $p"; done
T_KILL=$(date +%s)
podman start "${PROJECT}_embedder_1" >/dev/null
await 600 searchable p7 p8 || fail "p7, p8 were lost after the embedder's restart"
T_BACK=$(date +%s)
searchable p1 p2 p3 p4 p5 p6 p7 p8 || fail "a product published before the kill was lost"
log "after the embedder's kill and restart: all 8 searchable ($(( T_BACK - T_KILL ))s from restart)"

T_END=$(date +%s)
echo "SMOKE OK: build $(( T_BUILT - T0 ))s; up -> first answered search $(( T_FIRST - T_UP ))s; embedder restart -> caught up $(( T_BACK - T_KILL ))s; total $(( T_END - T0 ))s (before teardown)"
