#!/usr/bin/env bash
# Checks a binding built by tensorflow/build.sh. Usage: check.sh cpu|gpu [auto|load|files [ROOT]]
# (ROOT: the folder holding cpu/ and gpu/, default tensorflow).
#   load:  loads it in Node: the `tensorflow` backend starts on the project's own tfjs, TensorFlow says
#          2.9.1, and a matMul computes.
#   files: executes nothing of libtensorflow: the addon, its libraries and every TF_*/TFE_* symbol it
#          needs are there. For builds that run emulated (an amd64 image built on Apple Silicon under
#          Rosetta or QEMU): libtensorflow needs AVX, which emulators may lack, and would abort there.
#   auto (default): load where the kernel reports an x86 CPU with AVX, else files. An emulated amd64
#          build sees the host's (arm64) /proc/cpuinfo, which lists no avx.
# The real load then happens in CI (npm test) and at every job start (`mixup run`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VARIANT=${1:-cpu}
MODE=${2:-auto}
case "$VARIANT" in
  cpu) PKG=@tensorflow/tfjs-node ;;
  gpu) PKG=@tensorflow/tfjs-node-gpu ;;
  *) echo "check.sh: unknown variant '$VARIANT'; use cpu or gpu" >&2; exit 2 ;;
esac
DIR=${3:-tensorflow}/$VARIANT
PKG_DIR=$DIR/node_modules/$PKG
LIB=$PKG_DIR/deps/lib

if [ "$MODE" = auto ]; then
  if grep -qw avx /proc/cpuinfo 2>/dev/null; then MODE=load; else MODE=files; fi
fi

case "$MODE" in
  load)
    node - "$DIR" "$PKG" <<'JS'
const { createRequire } = require('node:module');
const path = require('node:path');
const [dir, pkg] = process.argv.slice(2);
const fromBinding = createRequire(path.resolve(dir, 'package.json'));
const tf = require(path.resolve('node_modules/@tensorflow/tfjs'));
// The package must run on the project's tfjs, not a copy of its own.
const itsTfjs = require.resolve('@tensorflow/tfjs', { paths: [path.dirname(fromBinding.resolve(`${pkg}/package.json`))] });
if (itsTfjs !== require.resolve(path.resolve('node_modules/@tensorflow/tfjs'))) throw new Error(`${pkg} resolves its own @tensorflow/tfjs (${itsTfjs})`);
const node = fromBinding(pkg);
if (tf.getBackend() !== 'tensorflow') throw new Error(`backend is ${tf.getBackend()}, not tensorflow`);
const version = tf.backend().binding.TF_Version;
if (version !== '2.9.1') throw new Error(`TensorFlow says ${version}, not 2.9.1`);
const product = Array.from(tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[5, 6], [7, 8]])).dataSync());
if (product.join() !== '19,22,43,50') throw new Error(`matMul gave ${product}`);
console.log(`loads: ${pkg} ${node.version['tfjs-node']}, TensorFlow ${version}, GPU in use: ${tf.backend().isUsingGpuDevice}`);
JS
    ;;
  files)
    ADDON=$(ls "$PKG_DIR"/lib/napi-v*/tfjs_binding.node 2>/dev/null | head -n 1)
    [ -n "$ADDON" ] || { echo "check.sh: no addon under $PKG_DIR/lib" >&2; exit 1; }
    nm -D --defined-only "$ADDON" | grep -qw napi_register_module_v1 || { echo "check.sh: $ADDON registers no N-API module" >&2; exit 1; }
    for lib in libtensorflow.so libtensorflow_framework.so.2 libpystub.so; do
      [ -e "$LIB/$lib" ] || { echo "check.sh: $LIB/$lib missing" >&2; exit 1; }
    done
    needed=$(nm -D --undefined-only "$ADDON" | awk '{print $NF}' | sed 's/@.*//' | grep -E '^TFE?_' | sort -u)
    defined=$(cat <(nm -D --defined-only "$LIB/libtensorflow.so") <(nm -D --defined-only "$LIB/libtensorflow_framework.so.2") | awk '{print $NF}' | sed 's/@.*//' | sort -u)
    missing=$(comm -23 <(echo "$needed") <(echo "$defined"))
    [ -z "$missing" ] || { echo "check.sh: libtensorflow lacks $(echo "$missing" | tr '\n' ' ')" >&2; exit 1; }
    pystub_missing=$(comm -23 <(nm -D --undefined-only "$LIB/libtensorflow.so" | awk '{print $NF}' | sed 's/@.*//' | grep -E '^_?Py' | sort -u) \
      <(nm -D --defined-only "$LIB/libpystub.so" | awk '{print $NF}' | sort -u))
    [ -z "$pystub_missing" ] || { echo "check.sh: libpystub lacks $(echo "$pystub_missing" | tr '\n' ' ')" >&2; exit 1; }
    echo "files: $ADDON and its libraries are in place, $(echo "$needed" | wc -l) TF_*/TFE_* symbols resolve (libtensorflow not executed)"
    ;;
  *) echo "check.sh: unknown mode '$MODE'; use auto, load or files" >&2; exit 2 ;;
esac
