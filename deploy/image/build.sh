#!/usr/bin/env bash
# Builds the lookalike image from what `./mvnw -pl deploy/local -am package -DskipTests` left in
# deploy/local/target, with podman (or docker when there is no podman).
#
#   deploy/image/build.sh [--base IMAGE] [--tag IMAGE]
#
# --base: the JRE base (default eclipse-temurin:17-jre, pulled from a registry); on a machine without a
# registry, make one first with deploy/image/make-debian-base.sh and pass --base localhost/lookalike-base:bookworm-jre17.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=eclipse-temurin:17-jre
VERSION="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' deploy/local/pom.xml | head -1)"
TAG="lookalike:${VERSION}"
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --tag) TAG="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
ENGINE="$(command -v podman || command -v docker)" || { echo "needs podman or docker" >&2; exit 1; }
if [ ! -f deploy/local/target/lookalike-local.jar ] || [ ! -d deploy/local/target/lib ]; then
  echo "deploy/local/target has no lookalike-local.jar and lib/: run ./mvnw -pl deploy/local -am package -DskipTests" >&2
  exit 1
fi
FORMAT=()
# podman's default OCI format drops HEALTHCHECK.
[[ "$ENGINE" == *podman ]] && FORMAT=(--format docker)
"$ENGINE" build "${FORMAT[@]}" -f deploy/image/Containerfile \
  --build-arg BASE="$BASE" --build-arg VERSION="$VERSION" \
  --build-arg REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$TAG" deploy/local/target
echo "built $TAG: $("$ENGINE" image inspect --format '{{.Size}}' "$TAG") bytes"
