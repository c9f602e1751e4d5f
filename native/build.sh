#!/usr/bin/env bash
# Builds the optional native forward convolution (conv-forward.c) into dist/native/, where
# job/backend/native-conv.ts looks for it. `npm ci` runs this through `prepare`. Without a C
# compiler it says so in one line and succeeds: training then runs on the wasm kernels alone, to
# the same floats, only slower. CC picks the compiler (default cc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CC=${CC:-cc}
OUT=dist/native/mixup-kernels.node
HEADERS=node_modules/node-api-headers/include

if ! command -v "$CC" >/dev/null 2>&1; then
  echo "native convolution not built: no C compiler ($CC); training uses the wasm kernels (same results, slower)" >&2
  exit 0
fi
if [ ! -f "$HEADERS/node_api.h" ]; then
  echo "native convolution not built: $HEADERS/node_api.h missing (npm ci installs node-api-headers)" >&2
  exit 0
fi
mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp "$OUT.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# -ffp-contract=off: a fused multiply-add would round once where XNNPACK rounds twice, and change
# the floats. -std=c11 (not gnu11) and no -ffast-math keep IEEE semantics everywhere else too.
"$CC" -std=c11 -O3 -ffp-contract=off -fno-fast-math -fPIC -shared -Wall -Wextra -Werror -Wno-psabi \
  -I "$HEADERS" -I native native/conv-forward.c -o "$tmp"
mv "$tmp" "$OUT"
trap - EXIT
echo "native convolution built: $OUT" >&2
