#!/usr/bin/env bash
# npm's `prepare` (npm ci, npm install, npm run prepare): compiles the TypeScript into dist/, then the
# optional native convolution (native/build.sh, which never fails the install).
#
# `npx mixup` in this directory makes npm link the package into its npx cache, and linking runs
# `prepare` again: npm 10 (Node 20's own) on every call, npm 11 on the first call per directory. That
# put a whole tsc and C build in front of the command (14 s of CPU on the 2-core machine). Under
# `npm exec` (npm_command=exec) with dist/ present, nothing is rebuilt: npx links this directory, so
# it runs the build `npm ci` made either way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${npm_command:-}" = exec ] && [ -f dist/scripts/cli.js ]; then
  exit 0
fi
npm run build
npm run build:native
