#!/usr/bin/env bash
# Makes an arm64 Node.js runnable on this x86-64 machine under qemu-user, and prints the sysroot it
# lives in: run it as `qemu-aarch64-static -L <sysroot> <sysroot>/usr/bin/node …`. The node is
# Debian's own (bookworm: v18) with its libraries, downloaded from Debian's arm64 archive through a
# private apt state (no `dpkg --add-architecture`, nothing installed system-wide), unpacked with
# dpkg-deb. Debian's signed archive is what vouches for the files. Idempotent: a sysroot whose node
# runs is reused. ARM64_NODE_ROOT overrides where it lives (default: <repo>/.cache/arm64-node).
# Needs qemu-user-static (qemu-aarch64-static) and apt-get; takes ~25 MB of downloads.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${ARM64_NODE_ROOT:-$ROOT/.cache/arm64-node}
SYSROOT=$DIR/sysroot
QEMU=qemu-aarch64-static

command -v "$QEMU" >/dev/null || { echo "arm64-node.sh: $QEMU missing (apt-get install qemu-user-static)" >&2; exit 1; }
runs() { "$QEMU" -L "$SYSROOT" "$SYSROOT/usr/bin/node" -e 'process.arch === "arm64" || process.exit(1)' 2>/dev/null; }
if [ -x "$SYSROOT/usr/bin/node" ] && runs; then
  echo "$SYSROOT"
  exit 0
fi

START=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR/lists/partial" "$DIR/cache/archives/partial" "$SYSROOT"
: >"$DIR/status"
# An apt of its own: arm64 indexes, an empty package database, its own cache; the system's is untouched.
apt=(-o "Dir::State::Lists=$DIR/lists" -o "Dir::Cache=$DIR/cache" -o "Dir::State::status=$DIR/status"
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1 -qq)
apt-get "${apt[@]}" update </dev/null >&2
# With an empty package database, --download-only fetches nodejs and everything it depends on.
apt-get "${apt[@]}" install --download-only --no-install-recommends -y nodejs </dev/null >&2
for deb in "$DIR"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
rm -rf "$DIR/lists" "$DIR/cache"
runs || { echo "arm64-node.sh: $SYSROOT/usr/bin/node does not run under $QEMU" >&2; exit 1; }
echo "arm64-node.sh: $("$QEMU" -L "$SYSROOT" "$SYSROOT/usr/bin/node" --version) (Debian arm64) in $SYSROOT in $(($(date +%s) - START))s" >&2
echo "$SYSROOT"
