#!/usr/bin/env bash
# Builds, once, the local stand-in for the Dockerfile's base images: Debian bookworm (debootstrap
# minbase from this machine's apt mirror) with this machine's Node, npm and CA bundle, at the same
# paths as the official node images (/usr/local/bin/node, /usr/local/lib/node_modules/npm), so the
# Dockerfile's `COPY --from=node` works unchanged. No registry is reachable here, hence no `docker pull`.
# The tag carries a hash of everything that goes in, so a changed recipe builds a new image and an
# unchanged one is reused. Prints the tag on stdout; progress goes to stderr.
set -euo pipefail

REPO=${BASE_IMAGE_REPO:-local/bookworm-node}
SUITE=bookworm
SOURCES=/etc/apt/sources.list.d/debian.sources
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  if [ -f "$SOURCES" ]; then
    awk '/^URIs:/{print $2; exit}' "$SOURCES"
  else
    awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list
  fi
}

NODE_BIN=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
MIRROR=$(mirror)
if [ -z "$MIRROR" ]; then
  echo "base-image.sh: no Debian mirror found in $SOURCES or /etc/apt/sources.list; set DEBIAN_MIRROR" >&2
  exit 1
fi

HASH=$({
  cat "${BASH_SOURCE[0]}"
  echo "$SUITE $MIRROR"
  "$NODE_BIN" --version
  npm --version
  sha256sum "$CA_BUNDLE"
} | sha256sum | cut -c1-12)
TAG="$REPO:$HASH"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "base-image.sh: reusing $TAG" >&2
  echo "$TAG"
  exit 0
fi

START=$(date +%s)
ROOTFS=$(mktemp -d /tmp/mixup-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT

echo "base-image.sh: debootstrap $SUITE from $MIRROR" >&2
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$ROOTFS" "$MIRROR" >/tmp/mixup-debootstrap.log 2>&1 || {
  echo "base-image.sh: debootstrap failed; last lines of /tmp/mixup-debootstrap.log:" >&2
  tail -n 20 /tmp/mixup-debootstrap.log >&2
  exit 1
}

mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules"
cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
# The registry's TLS chain may be signed by a proxy CA that only this machine's bundle trusts.
cp "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
cp "$SOURCES" "$ROOTFS/etc/apt/sources.list.d/" 2>/dev/null || true
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' - "$TAG" >/dev/null
echo "base-image.sh: built $TAG in $(( $(date +%s) - START ))s" >&2
echo "$TAG"
