#!/usr/bin/env bash
# Makes a Docker engine answer on this machine: installs Debian's docker.io if missing and starts
# dockerd without the default bridge, so no container traffic leaves 127.0.0.1 (every build and
# container uses --network host). Idempotent: an engine that already answers is left alone.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
WAIT_S=${DOCKER_ENGINE_WAIT_S:-60}

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "docker-engine.sh: $1 needs root (run as root, or start dockerd yourself)" >&2
    exit 1
  fi
}

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  need_root "installing docker.io and debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

need_root "starting dockerd"
# Only this script starts dockerd, so a pid file left by a crashed run is stale.
rm -f /var/run/docker.pid
nohup dockerd --bridge=none --iptables=false --ip-masq=false >"$DOCKERD_LOG" 2>&1 &
echo "docker-engine.sh: started dockerd (pid $!, log $DOCKERD_LOG)" >&2

for _ in $(seq 1 "$WAIT_S"); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "docker-engine.sh: dockerd did not answer within ${WAIT_S}s; last lines of $DOCKERD_LOG:" >&2
tail -n 20 "$DOCKERD_LOG" >&2
exit 1
