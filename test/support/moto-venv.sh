#!/usr/bin/env bash
# Makes moto's server available in a virtualenv of its own (never system-wide) and prints the path of
# its `moto_server`. Idempotent: a venv that already has the pinned moto is reused. Debian's python3
# (/usr/bin/python3) with python3-venv is used because apt can install it on a fresh machine, which
# pyenv's interpreters (present on some machines, absent on others) cannot promise.
# Usage: moto-venv.sh; MOTO_VENV overrides where the venv lives (default: <repo>/.venv-moto).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MOTO_VERSION=5.2.5
VENV=${MOTO_VENV:-$ROOT/.venv-moto}
PYTHON=/usr/bin/python3

if [ -x "$VENV/bin/moto_server" ] && [ "$("$VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" = "$MOTO_VERSION" ]; then
  echo "$VENV/bin/moto_server"
  exit 0
fi

# shellcheck source=python-venv.sh
. "$HERE/python-venv.sh"
ensure_python_venv "$PYTHON" moto-venv.sh

START=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# The pip index (and CA) this machine configures for pip are used as they are.
# --no-compile: byte-compiling every module took most of the install's time on a busy machine; Python
# compiles what moto imports on its first start instead.
"$VENV/bin/pip" install --quiet --no-compile "moto[server]==$MOTO_VERSION" >&2
echo "moto-venv.sh: moto $MOTO_VERSION in $VENV in $(( $(date +%s) - START ))s" >&2
echo "$VENV/bin/moto_server"
