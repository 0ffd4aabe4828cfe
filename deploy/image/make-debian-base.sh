#!/usr/bin/env bash
# Builds a JRE base image from Debian packages and imports it into podman, for machines that cannot pull
# from a container registry (CI here). Users with a registry keep the Containerfile's default base,
# eclipse-temurin:17-jre, and never need this.
#
#   deploy/image/make-debian-base.sh [TAG]        # default TAG: localhost/lookalike-base:bookworm-jre17
#
# Needs root, debootstrap and podman (apt-get install -y --no-install-recommends debootstrap podman).
# Takes ~2.5 min and ~480 MB; skipped when the tag already exists (remove it with `podman rmi TAG`).
set -euo pipefail
TAG="${1:-localhost/lookalike-base:bookworm-jre17}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if podman image exists "$TAG"; then
  echo "base image $TAG exists"
  exit 0
fi
ROOT="$(mktemp -d "${TMPDIR:-/tmp}/lookalike-base.XXXXXX")"
trap 'rm -rf "$ROOT"' EXIT
# curl is for the image's HEALTHCHECK; libgomp1 for PyTorch's OpenMP.
debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates,libgomp1,curl \
  bookworm "$ROOT" "$MIRROR"
chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/*
tar -C "$ROOT" -c . | podman import \
  --change 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$TAG"
echo "base image $TAG: $(podman image inspect --format '{{.Size}}' "$TAG") bytes"
