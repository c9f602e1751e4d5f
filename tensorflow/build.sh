#!/usr/bin/env bash
# `npm run build:tensorflow [-- cpu|gpu]`: builds the `tensorflow` backend's native binding from
# registries only. @tensorflow/tfjs-node (cpu) or @tensorflow/tfjs-node-gpu (gpu) 4.22.0 comes from
# npm without its install script (which would download libtensorflow and a prebuilt addon from
# Google's storage); libtensorflow 2.9.1 and its C headers come from PyPI's TensorFlow 2.9.1 wheel
# (tensorflow/requirements-<variant>.txt: version and SHA-256), and the addon is compiled here from
# the package's own C++ sources. Result: tensorflow/<variant>/node_modules/@tensorflow/tfjs-node[-gpu],
# where job/backend/tensorflow-binding.ts looks first.
#
# Opt-in: `npm ci` does not run it (wasm with the native convolution is faster on a CPU; docs/tensorflow.md).
# Idempotent: a build whose inputs (the wheel's hash, the lockfile, these scripts) are unchanged is
# reused; wheels are kept in MIXUP_WHEEL_CACHE (default ~/.cache/mixup-batch/wheels) by their hash.
# Needs Linux x86-64 (the wheel's platform), python3 with pip or venv, a C++ compiler (CXX, default
# c++) and binutils. A failure prints one line naming the step and the log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VARIANT=${1:-cpu}
case "$VARIANT" in
  cpu) PKG=@tensorflow/tfjs-node ;;
  gpu) PKG=@tensorflow/tfjs-node-gpu ;;
  *) echo "build:tensorflow: unknown variant '$VARIANT'; use cpu or gpu" >&2; exit 2 ;;
esac
HERE=tensorflow
DIR=$HERE/$VARIANT
PKG_DIR=$DIR/node_modules/$PKG
REQUIREMENTS=$HERE/requirements-$VARIANT.txt
STAMP=$DIR/node_modules/.mixup-build-key
LOG=$DIR/build.log
CACHE=${MIXUP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixup-batch/wheels}
PYTHON=${PYTHON:-python3}
CXX=${CXX:-c++}
CC=${CC:-cc}
HEADERS=node_modules/node-api-headers/include

fail() {
  echo "build:tensorflow $VARIANT: $*" >&2
  exit 1
}

# The inputs that decide the result; the wheel's SHA-256 is in the requirements file.
KEY=$(cat "$REQUIREMENTS" "$DIR/package-lock.json" "$HERE/build.sh" "$HERE/check.sh" "$HERE/wheels.sh" | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ]; then
  echo "TensorFlow binding ($VARIANT) up to date: $PKG_DIR" >&2
  exit 0
fi

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] \
  || fail "needs Linux x86-64 (PyPI's TensorFlow 2.9.1 wheel is manylinux x86-64); this is $(uname -s)/$(uname -m): use --backend wasm, or build the image"
command -v "$CXX" >/dev/null 2>&1 || fail "no C++ compiler ($CXX); install g++ (Debian: apt-get install g++)"
command -v "$CC" >/dev/null 2>&1 || fail "no C compiler ($CC); install gcc"
command -v nm >/dev/null 2>&1 || fail "no nm; install binutils"
command -v "$PYTHON" >/dev/null 2>&1 || fail "no $PYTHON (pip downloads the wheel); install python3 with pip or venv"
[ -f "$HEADERS/node_api.h" ] || fail "$HEADERS/node_api.h missing; run npm ci first"

mkdir -p "$DIR" "$CACHE"
: >"$LOG"
STEP=
# Each step's output goes to the log; a failed step is named in one line, after the log's last lines.
step() {
  STEP=$1
  echo "build:tensorflow $VARIANT: $STEP" >>"$LOG"
}
trap 'rc=$?; if [ "$rc" != 0 ] && [ -n "$STEP" ]; then tail -n 15 "$LOG" | sed "s/^/  | /" >&2; echo "build:tensorflow $VARIANT: $STEP failed (exit $rc); the whole log is $LOG" >&2; fi' EXIT

step "download the wheel ($(grep -m1 -o '^[a-z-]*==[0-9.]*' "$REQUIREMENTS")) into $CACHE"
MIXUP_WHEEL_CACHE=$CACHE bash "$HERE/wheels.sh" "$REQUIREMENTS" >>"$LOG" 2>&1
WHEEL_SHA=$(grep -m1 -o 'sha256:[0-9a-f]*' "$REQUIREMENTS" | cut -d: -f2)
WHEEL=
for candidate in "$CACHE"/tensorflow*-2.9.1-*.whl; do
  [ -f "$candidate" ] && [ "$(sha256sum "$candidate" | cut -d' ' -f1)" = "$WHEEL_SHA" ] && WHEEL=$candidate
done
[ -n "$WHEEL" ] || { echo "no wheel with sha256 $WHEEL_SHA in $CACHE" >>"$LOG"; exit 1; }

step "npm ci --ignore-scripts in $DIR ($PKG's JavaScript and C++ sources, no download from Google)"
rm -rf "$DIR/node_modules"
(cd "$DIR" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund) >>"$LOG" 2>&1
# tfjs itself must be the project's copy (node_modules/@tensorflow/tfjs), the one the job imports: the
# package's own copy would be a second set of tfjs modules. Resolution walks up to the project's.
for dup in "$DIR"/node_modules/@tensorflow/*; do
  [ "$dup" = "$PKG_DIR" ] || rm -rf "$dup"
done

step "unpack libtensorflow and its C headers from $(basename "$WHEEL")"
mkdir -p "$PKG_DIR/deps/lib" "$PKG_DIR/deps/include"
"$PYTHON" - "$WHEEL" "$PKG_DIR/deps" >>"$LOG" 2>&1 <<'PY'
import os, shutil, sys, zipfile
wheel, deps = sys.argv[1], sys.argv[2]
wanted = {
    'tensorflow/libtensorflow_framework.so.2': 'lib/libtensorflow_framework.so.2',
    # The Python extension exports TensorFlow's whole C API (TF_*, TFE_*); the wheel has no libtensorflow.so.
    'tensorflow/python/_pywrap_tensorflow_internal.so': 'lib/_pywrap_tensorflow_internal.so',
}
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith('/'):
            continue
        if name.startswith('tensorflow/include/tensorflow/c/') or name.startswith('tensorflow/include/tensorflow/core/platform/ctstring'):
            wanted[name] = 'include/' + name[len('tensorflow/include/'):]
    for name, target in wanted.items():
        path = f'{deps}/{target}'
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(name) as src, open(path, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
print(f'unpacked {len(wanted)} files')
PY
(
  cd "$PKG_DIR/deps/lib"
  # The names tfjs-node's binding links and loads.
  ln -sf _pywrap_tensorflow_internal.so libtensorflow.so
  ln -sf _pywrap_tensorflow_internal.so libtensorflow.so.2
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
)

step "generate and compile the stub of the Python C API that libtensorflow's wheel form leaves undefined"
# Outside Python those symbols are unresolved and dlopen fails (`undefined symbol: PyTuple_Type`).
# The C API never uses them: data symbols become zeroed buffers, functions abort() if ever called.
STUB_C=$PKG_DIR/deps/pystub.c
{
  echo '/* Generated by tensorflow/build.sh: the Python C API symbols libtensorflow leaves undefined. */'
  echo '#include <stdlib.h>'
  nm -D --undefined-only "$PKG_DIR/deps/lib/_pywrap_tensorflow_internal.so" | awk '{print $NF}' | sed 's/@.*//' \
    | grep -E '^_?Py' | sort -u | while read -r symbol; do
      if [[ $symbol =~ _Type$ || $symbol =~ ^PyExc_ || $symbol =~ Struct$ ]]; then
        echo "__attribute__((aligned(64))) char $symbol[1024];"
      else
        echo "void $symbol(void) { abort(); }"
      fi
    done
} >"$STUB_C"
echo "stub: $(grep -c '^void\|^__attr' "$STUB_C") symbols" >>"$LOG"
"$CC" -shared -fPIC -O1 -Wl,-soname,libpystub.so -o "$PKG_DIR/deps/lib/libpystub.so" "$STUB_C" >>"$LOG" 2>&1

step "compile the N-API addon ($PKG/binding/*.cc) with $CXX"
# Where the package's own loader (@mapbox/node-pre-gyp's find) looks for it under this Node.
ADDON=$(cd "$PKG_DIR" && node -p "require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json'))")
NAPI_VERSION=$(basename "$(dirname "$ADDON")" | sed 's/^napi-v//')
mkdir -p "$(dirname "$ADDON")"
# What the package's binding.gyp says for Linux, without node-gyp (which would fetch Node's headers):
# N-API headers from node-api-headers; the stub linked first (--no-as-needed keeps it), so the loader
# has it before libtensorflow needs it; RUNPATH $ORIGIN/../../deps/lib finds the libraries.
"$CXX" -std=c++17 -O2 -fPIC -shared -DNAPI_VERSION="$NAPI_VERSION" -DBUILDING_NODE_EXTENSION \
  -I "$HEADERS" -I "$PKG_DIR/deps/include" \
  "$PKG_DIR/binding/tfjs_backend.cc" "$PKG_DIR/binding/tfjs_binding.cc" \
  -L "$PKG_DIR/deps/lib" -Wl,--no-as-needed -lpystub -ltensorflow -ltensorflow_framework \
  -Wl,-rpath,'$ORIGIN/../../deps/lib' -o "$ADDON" >>"$LOG" 2>&1

step "check the binding (tensorflow/check.sh $VARIANT)"
bash "$HERE/check.sh" "$VARIANT" >>"$LOG" 2>&1
echo "$KEY" >"$STAMP"
STEP=
echo "TensorFlow binding ($VARIANT) built: $PKG_DIR ($(tail -n 1 "$LOG"))" >&2
