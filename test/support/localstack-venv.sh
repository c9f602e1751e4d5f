#!/usr/bin/env bash
# Makes LocalStack (localstack-core, run as a plain host process: no Docker, no account) available in a
# virtualenv of its own, never system-wide, and prints the path of that virtualenv's python. Every
# package comes from test/support/localstack-requirements.txt, installed with --require-hashes.
# Idempotent: a venv installed from the same requirements file (same SHA-256) is reused. Debian's
# python3 (/usr/bin/python3, 3.11) with python3-venv is used because apt can install it on a fresh
# machine, which pyenv's interpreters (present on some machines, absent on others) cannot promise; the
# pinned release is the newest one that runs on it.
# Usage: localstack-venv.sh; LOCALSTACK_VENV overrides where the venv lives (default: <repo>/.venv-localstack).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REQUIREMENTS=$HERE/localstack-requirements.txt
VENV=${LOCALSTACK_VENV:-$ROOT/.venv-localstack}
PYTHON=/usr/bin/python3
STAMP=$VENV/.requirements-sha256
WANT=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

# shellcheck source=python-venv.sh
. "$HERE/python-venv.sh"
ensure_python_venv "$PYTHON" localstack-venv.sh

START=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# The pip index (and CA) this machine configures for pip are used as they are. Two packages
# (airspeed-ext, jsonpath-rw) are source distributions, built with the venv's own setuptools.
# --no-compile: byte-compiling all 113 packages took longer than downloading them (240 s against 80 s
# on a busy machine); Python compiles what LocalStack imports on its first start instead.
"$VENV/bin/pip" install --quiet --no-compile --require-hashes --no-deps -r "$REQUIREMENTS" >&2
"$VENV/bin/python" -c 'import localstack.aws.components' # fails here, not at the first test, when a pin is wrong
echo "$WANT" >"$STAMP"
echo "localstack-venv.sh: $(sed -n 's/^localstack-core==\([^ ]*\).*/localstack-core \1/p' "$REQUIREMENTS") in $VENV in $(( $(date +%s) - START ))s" >&2
echo "$VENV/bin/python"
