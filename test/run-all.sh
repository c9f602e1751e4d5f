#!/usr/bin/env bash
# `npm test`: type-check, check the import rules (.dependency-cruiser.cjs), synthesise the CDK app, then every suite in one run of Node's test runner
# (one summary at the end). Suites: test/unit (fast), test/infra (CDK assertions), test/integration
# (LocalStack's S3, and moto's beside it), test/e2e (real Docker engine and Chromium; slow, marked [slow]), test/cloud
# (the CDK stack on the moto AWS emulator, its Batch running the real image in Docker; slow, [slow]).
# MIXUP_SKIP_DOCKER=1 skips the Docker end-to-end and cloud tests with a visible reason. Skipped tests and suites
# are listed at the end; with CI=true any skip fails the run, unless MIXUP_ALLOW_SKIPS=1.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

# One LocalStack (test/support/localstack.ts) for every test file that needs S3, SSM or CloudFormation,
# started now so that loading its services overlaps the type-check; stopped when this script exits. A
# LOCALSTACK_ENDPOINT given by the caller (`npm run localstack`) is used instead.
localstack_pid=
localstack_out=$(mktemp)
cleanup() {
  if [ -n "$localstack_pid" ]; then
    kill -TERM "$localstack_pid" 2>/dev/null || true
    wait "$localstack_pid" 2>/dev/null || true
  fi
  rm -f "$localstack_out" "${tap:-}"
}
trap cleanup EXIT
if [ -z "${LOCALSTACK_ENDPOINT:-}" ]; then
  node --import tsx test/support/localstack-cli.ts --port 0 </dev/null >"$localstack_out" 2>&1 &
  localstack_pid=$!
fi

step 'type-check'
npx tsc -p tsconfig.json --noEmit

step 'import rules (dependency-cruiser: no cycles; scripts/ → job/ ← infra/)'
npm run --silent lint:deps

step 'cdk synth (no credentials, no network)'
synth_out=$(mktemp -d)
AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_PROFILE= npx cdk synth --quiet --output "$synth_out" >/dev/null
rm -rf "$synth_out"

if [ -n "$localstack_pid" ]; then
  step 'LocalStack (test/support/localstack.ts)'
  # The first time, this includes making its virtualenv (minutes).
  until grep -q '^LOCALSTACK_ENDPOINT=' "$localstack_out"; do
    if ! kill -0 "$localstack_pid" 2>/dev/null; then
      cat "$localstack_out"
      echo 'LocalStack did not start'
      exit 1
    fi
    sleep 1
  done
  head -n 1 "$localstack_out"
  export "$(grep -m 1 '^LOCALSTACK_ENDPOINT=' "$localstack_out")"
fi

step 'tests'
suites=(test/unit test/infra test/integration test/e2e test/cloud)
files=()
for suite in "${suites[@]}"; do
  [ -d "$suite" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$suite" -name '*.test.ts' | sort)
done
# One file at a time: the machine has 2 cores, and wasm training is single-threaded per process.
# A TAP copy of the results is kept to count skips: the summary's "skipped" leaves out skipped suites.
tap=$(mktemp)
rc=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}" || rc=$?

skips=$(grep -E '^[[:space:]]*(not )?ok [0-9]+ - .* # (SKIP|TODO)' "$tap" | sed -E 's/^[[:space:]]*(not )?ok [0-9]+ - /  /' || true)
if [ -n "$skips" ]; then
  printf '\n== %s skipped test(s) or suite(s):\n%s\n' "$(printf '%s\n' "$skips" | wc -l)" "$skips"
  if [ "${CI:-}" = true ] && [ "${MIXUP_ALLOW_SKIPS:-}" != 1 ]; then
    echo 'CI=true: a skipped test fails the run (install what it needs, or set MIXUP_ALLOW_SKIPS=1)'
    [ "$rc" = 0 ] && rc=1
  fi
fi
exit "$rc"
