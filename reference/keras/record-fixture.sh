#!/usr/bin/env bash
# Regenerates test/fixtures/keras-parity.json, what test/unit/keras-parity.test.ts compares the job with:
# writes the job's parity trace (write-trace.ts: seed 42, 20 steps per arm, the real Fashion-MNIST files),
# then replays it in the Keras example (replay_trace.py) in the reference's virtualenv (setup.sh makes it,
# about 1.5 minutes and 1.6 GB the first time). Only when the trace itself changes (the batches, λ, dropout
# masks or initial weights the job draws) or to record with another TensorFlow: never to make the test pass.
# Usage: reference/keras/record-fixture.sh [OUT] (default test/fixtures/keras-parity.json); FASHION_MNIST_DIR
# overrides where the four IDX files are read (default /usr/share/datasets/fashion-mnist).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/test/fixtures/keras-parity.json}
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

PYTHON=$(bash "$HERE/setup.sh")
TRACE=$(mktemp -d)
trap 'rm -rf "$TRACE"' EXIT
cd "$ROOT"
node --import tsx reference/keras/write-trace.ts --out "$TRACE" --data "$DATA"
"$PYTHON" reference/keras/replay_trace.py "$TRACE" "$OUT" --data "$DATA"
