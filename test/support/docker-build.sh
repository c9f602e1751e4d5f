#!/usr/bin/env bash
# Builds the job image offline, as the CI does: the engine from docker-engine.sh, the local bookworm
# base from base-image.sh in place of every Docker Hub image, this machine's npm registry and CA
# bundle, and host networking (no bridge exists). Usage: docker-build.sh [TAG [TARGET]]; prints the tag.
# TARGET is a Dockerfile stage: `cpu` (the CPU image, MIXUP_IMAGE_TARGET) or the default, the GPU image.
# The GPU image downloads its wheels from PyPI (about 2.1 GB; Docker's layer cache keeps them).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=${1:-${MIXUP_IMAGE:-mixup-batch:local}}
TARGET=${2:-${MIXUP_IMAGE_TARGET:-}}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

bash "$HERE/docker-engine.sh"
BASE=$(bash "$HERE/base-image.sh")
REGISTRY=$(npm config get registry)

START=$(date +%s)
# The legacy builder runs every stage up to the target (the CPU stages come before the GPU ones, so
# `cpu` builds none of the GPU image); BuildKit (if the client has buildx) builds only what the target needs.
docker build --network host \
  --build-arg BUILD_BASE="$BASE" \
  --build-arg CPU_BASE="$BASE" \
  --build-arg NPM_REGISTRY="$REGISTRY" \
  --build-arg NODE_EXTRA_CA_CERTS="$CA_BUNDLE" \
  ${TARGET:+--target "$TARGET"} \
  -t "$TAG" "$ROOT" >&2
SIZE=$(docker image inspect --format '{{.Size}}' "$TAG")
echo "docker-build.sh: built $TAG${TARGET:+ (target $TARGET)} in $(( $(date +%s) - START ))s, $(( SIZE / 1000000 )) MB" >&2
echo "$TAG"
