#!/usr/bin/env bash
# Installs the Keras reference (TensorFlow 2.21.0 CPU, Keras 3.15.1) into a virtualenv of its own and prints
# the path of its python. Idempotent: a venv that already has the pinned TensorFlow is reused. Never needed
# by the product, its image or CI: only to run reference/keras/*.py (the distribution, a new parity fixture).
#
# The lock file (requirements.txt) pins every package with its wheel's SHA-256 for CPython 3.11 on x86_64
# Linux, which is Debian 12's /usr/bin/python3 (apt can always provide it with python3-venv; pyenv's 3.10–3.13
# are not on every machine). TensorFlow 2.21 has wheels for CPython 3.10–3.13: on another interpreter or
# architecture the hashes cannot match, and KERAS_UNLOCKED=1 installs the same top-level pin without them.
#
# Usage: reference/keras/setup.sh
#   KERAS_VENV   where the venv lives (default: <repo>/.venv-keras)
#   KERAS_PYTHON the interpreter that makes it (default: /usr/bin/python3)
#   KERAS_UNLOCKED=1  pip install tensorflow-cpu==2.21.0 without the hashed lock file
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TF_VERSION=2.21.0
VENV=${KERAS_VENV:-$ROOT/.venv-keras}
PYTHON=${KERAS_PYTHON:-/usr/bin/python3}

if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("tensorflow-cpu"))' 2>/dev/null)" = "$TF_VERSION" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

if ! [ -x "$PYTHON" ]; then
  echo "setup.sh: no interpreter at $PYTHON (set KERAS_PYTHON)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  echo "setup.sh: $PYTHON lacks venv/ensurepip; on Debian: apt-get install python3-venv" >&2
  exit 1
fi

# Which wheels the lock file's hashes are for.
where=$("$PYTHON" -c 'import platform, sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.system()}-{platform.machine()}")')
if [ "${KERAS_UNLOCKED:-}" != 1 ] && [ "$where" != cp311-Linux-x86_64 ]; then
  echo "setup.sh: requirements.txt holds the hashes of CPython 3.11 x86_64 Linux wheels; $PYTHON is $where." >&2
  echo "  Use a CPython 3.11 (KERAS_PYTHON=...), or KERAS_UNLOCKED=1 for tensorflow-cpu==$TF_VERSION without hashes." >&2
  exit 1
fi

START=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# The pip index (and CA) this machine configures for pip are used as they are.
if [ "${KERAS_UNLOCKED:-}" = 1 ]; then
  "$VENV/bin/pip" install --quiet "tensorflow-cpu==$TF_VERSION" >&2
else
  "$VENV/bin/pip" install --quiet --require-hashes --only-binary=:all: --no-deps -r "$HERE/requirements.txt" >&2
fi
TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -c 'import keras, tensorflow as tf; print(f"setup.sh: TensorFlow {tf.__version__}, Keras {keras.__version__}", end="")' >&2
echo " in $VENV in $(( $(date +%s) - START ))s" >&2
echo "$VENV/bin/python"
