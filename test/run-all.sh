#!/usr/bin/env bash
# `npm test`: type-check, check the import rules (.dependency-cruiser.cjs), synthesise the CDK app, then every suite in one run of Node's test runner
# (one summary at the end). Suites: test/unit (fast), test/infra (CDK assertions), test/integration
# (real local S3 server), test/e2e (real Docker engine and Chromium; slow, marked [slow]), test/cloud
# (the CDK stack on the moto AWS emulator, its Batch running the real image in Docker; slow, [slow]).
# MIXUP_SKIP_DOCKER=1 skips the Docker end-to-end test with a visible reason.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step 'type-check'
npx tsc -p tsconfig.json --noEmit

step 'import rules (dependency-cruiser: no cycles; scripts/ → job/ ← infra/)'
npm run --silent lint:deps

step 'cdk synth (no credentials, no network)'
synth_out=$(mktemp -d)
AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_PROFILE= npx cdk synth --quiet --output "$synth_out" >/dev/null
rm -rf "$synth_out"

step 'tests'
suites=(test/unit test/infra test/integration test/e2e test/cloud)
files=()
for suite in "${suites[@]}"; do
  [ -d "$suite" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$suite" -name '*.test.ts' | sort)
done
# One file at a time: the machine has 2 cores, and wasm training is single-threaded per process.
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
