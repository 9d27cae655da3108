#!/usr/bin/env bash
# The whole test suite: install dependencies, build with the dev preset (-Werror), run ctest;
# then a second pass with AddressSanitizer + UBSan + LeakSanitizer (preset asan-ubsan: Debug, no
# interop tests or benchmarks) running the unit, fuzz-replay and integration tests (certd over
# loopback, the crash-safety test) under the sanitizers. The interop tests run external tools on
# our output and the browser tests drive chromium: the dev pass covers them.
# LIBCERT_SKIP_SANITIZERS=1 skips the second pass (a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# git does not keep file modes, and certd refuses private keys others may read.
find keys-example -name '*.key' -exec chmod 600 {} +
start=$(date +%s)
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev -j2 --timeout 600
echo "test.sh: dev pass $(($(date +%s) - start)) s"
if [ "${LIBCERT_SKIP_SANITIZERS:-0}" != 1 ]; then
  start=$(date +%s)
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan
  ctest --preset asan-ubsan -j2 --timeout 900 -L 'unit|fuzz|integration' -LE browser
  echo "test.sh: asan-ubsan pass $(($(date +%s) - start)) s"
fi
