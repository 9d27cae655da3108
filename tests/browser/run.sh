#!/usr/bin/env bash
# ctest entry for the inspector page's browser tests: installs playwright-core from the committed
# package-lock.json (npm ci) when node_modules is missing or stale, then runs one mode of
# inspector.test.mjs (e2e | crosscheck). Needs Debian chromium, node and npm (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")"
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "chromium is not installed (scripts/deps.sh)"; exit 1; }
# Two modes may start at once under ctest -j: one installs, the other waits for it.
exec 9>".npm-ci.lock"
flock 9
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
flock -u 9
exec node inspector.test.mjs "$@"
