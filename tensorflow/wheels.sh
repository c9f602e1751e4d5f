#!/usr/bin/env bash
# Downloads the wheels a requirements file pins (version and SHA-256) into MIXUP_WHEEL_CACHE (default
# ~/.cache/mixup-batch/wheels), with pip, the registry's own client: it honours the user's pip
# configuration (index, proxy, certificates), checks every hash, and skips a file already there.
# Wheels are only unpacked (tensorflow/build.sh, tensorflow/cuda-libs.sh), never installed, so the
# CPython 3.10 / manylinux x86-64 wheels are asked for whatever Python runs pip.
# Usage: wheels.sh REQUIREMENTS.txt...; prints the cache folder.
set -euo pipefail

CACHE=${MIXUP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixup-batch/wheels}
PYTHON=${PYTHON:-python3}
mkdir -p "$CACHE"

PIP=("$PYTHON" -m pip)
if ! "${PIP[@]}" --version >/dev/null 2>&1; then
  # Debian's python3 has no pip module without python3-pip; a private virtualenv has one.
  VENV=$(dirname "$CACHE")/pip-venv
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" >&2
  PIP=("$VENV/bin/python" -m pip)
fi

requirements=()
for file in "$@"; do requirements+=(-r "$file"); done
"${PIP[@]}" download --no-deps --only-binary=:all: --python-version 3.10 --platform manylinux2014_x86_64 \
  --require-hashes --progress-bar off --disable-pip-version-check -d "$CACHE" "${requirements[@]}" >&2
echo "$CACHE"
