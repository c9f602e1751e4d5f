#!/usr/bin/env bash
# Builds the optional native kernels (SOURCES below) into one Node addon, dist/native/mixup-kernels.node,
# where job/backend/native-conv.ts looks for it. `npm ci` runs this through `prepare`, so it never fails
# the install: without a C compiler, or when the compiler fails, it says so in one line and exits 0;
# training then runs on the wasm kernels alone, to the same floats, only slower.
#
#   bash native/build.sh [--strict] [--out FILE]
#   CC        the compiler (default cc): gcc or clang, native or a cross compiler
#   --strict  a failing compiler fails the build, with its messages (CI's cross builds)
#   --out     where to write the addon. By default dist/native/mixup-kernels.node, except when CC
#             targets another architecture than this node's: then dist/native/<target>/, which
#             nothing loads, so a cross build never replaces the addon this node uses.
#
# Per target: the x86 forms (AVX-512, AVX2) only on x86; elsewhere the portable form alone
# (the 4-float vectors of the *-tile.h headers); macOS links a bundle whose N-API symbols resolve when node loads it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One addon from these files: a new kernel file is one more entry.
SOURCES=(native/addon.c native/conv-forward.c native/conv-grads.c native/elementwise.c)
HEADERS=node_modules/node-api-headers/include
ADDON=mixup-kernels.node

strict=false
out=
while [ $# -gt 0 ]; do
  case $1 in
    --strict) strict=true ;;
    --out) out=${2:?--out needs a file}; shift ;;
    *) echo "native/build.sh: unknown argument '$1' (use --strict, --out FILE)" >&2; exit 2 ;;
  esac
  shift
done

# CC may carry flags, e.g. CC='clang --target=aarch64-linux-gnu'.
read -ra cc <<<"${CC:-cc}"
# Not built: one line, and success unless --strict.
skip() {
  echo "native convolution not built: $1; training uses the wasm kernels (same results, slower)" >&2
  if $strict; then exit 1; fi
  exit 0
}

command -v "${cc[0]}" >/dev/null 2>&1 || skip "no C compiler (${cc[0]})"
[ -f "$HEADERS/node_api.h" ] || skip "$HEADERS/node_api.h missing (npm ci installs node-api-headers)"
target=$("${cc[@]}" -dumpmachine 2>/dev/null) || skip "${cc[*]} -dumpmachine failed (not gcc or clang?)"

# The compiler's architecture in node's words (process.arch), to tell a cross build from a native one.
case ${target%%-*} in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  i?86) arch=ia32 ;;
  *) arch=${target%%-*} ;;
esac
case $target in
  *mingw* | *msvc* | *cygwin* | *windows*) skip "$target is not supported (on Windows, use WSL)" ;;
  *darwin* | *apple*) link=(-bundle -undefined dynamic_lookup) ;; # node provides the napi_* symbols at load
  *) link=(-shared) ;;
esac
if [ -z "$out" ]; then
  node_arch=$(node -p process.arch 2>/dev/null || true)
  if [ -n "$node_arch" ] && [ "$node_arch" != "$arch" ]; then
    out=dist/native/$target/$ADDON
  else
    out=dist/native/$ADDON
  fi
fi

mkdir -p "$(dirname "$out")"
log=$out.log
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# -ffp-contract=off: a fused multiply-add would round once where XNNPACK rounds twice, and change
# the floats. -std=c11 (not gnu11) and no -ffast-math keep IEEE semantics everywhere else too.
# -Wno-psabi: GCC notes that passing wide vectors changed ABI in old releases; ours are all static.
# -Wno-unknown-warning-option: a clang too old to know -Wpsabi would otherwise stop on it (GCC ignores both).
if ! "${cc[@]}" -std=c11 -O3 -ffp-contract=off -fno-fast-math -fPIC -Wall -Wextra -Werror -Wno-psabi -Wno-unknown-warning-option \
  -I "$HEADERS" -I native "${SOURCES[@]}" "${link[@]}" -o "$tmp" >"$log" 2>&1; then
  if $strict; then cat "$log" >&2; fi
  first=$(grep -m1 -E 'error|Error' "$log" || head -n1 "$log")
  rm -f "$out" # an addon from older sources would no longer match job/backend/native-conv.ts
  skip "${cc[*]} ($target) failed (${first:-no message}; all of it in $log)"
fi
rm -f "$log"
mv "$tmp" "$out"
trap - EXIT
if [ "$out" = "dist/native/$target/$ADDON" ]; then
  echo "native convolution cross-built for $target: $out (this node is ${node_arch:-?}, so it loads none)" >&2
else
  echo "native convolution built ($target): $out" >&2
fi
