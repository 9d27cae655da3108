#!/usr/bin/env bash
# The whole test suite: install dependencies, build with the dev preset (-Werror), run ctest;
# then a second pass with AddressSanitizer + UBSan + LeakSanitizer (preset asan-ubsan: Debug, no
# interop tests or benchmarks) running the unit, fuzz-replay and integration tests (certd over
# loopback, the crash-safety test) under the sanitizers. The interop tests run external tools on
# our output and the browser tests drive chromium: the dev pass covers them.
# LIBCERT_SKIP_SANITIZERS=1 skips the second pass (a quick local run). Where the time goes, and
# the bounded load tests (their full-length soaks are bench/soak.sh): docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# git does not keep file modes, and certd refuses private keys others may read.
find keys-example -name '*.key' -exec chmod 600 {} +
start=$(date +%s)
cmake --preset dev >/dev/null
cmake --build --preset dev
echo "test.sh: dev build $(($(date +%s) - start)) s"
sanitizers=1
[ "${LIBCERT_SKIP_SANITIZERS:-0}" = 1 ] && sanitizers=0
asan_build=
asan_log=build/asan-ubsan-build.log
if [ "$sanitizers" = 1 ]; then
  # The sanitizer build runs beside the dev tests, at the lowest CPU and I/O priority: the tests
  # keep the CPU whenever they ask for it (CFS weight 15 against 1024 in this session's group), and
  # the build uses the time they spend waiting on daemons, sockets, deadlines and the serial
  # load tests — several minutes of CI on 2 cores. Its output goes to a log, shown on failure.
  cmake --preset asan-ubsan >/dev/null
  # Its own process group (job control on for the launch only; the same session, so the same
  # scheduler autogroup and nice still ranks it below the tests), so a failing dev pass stops it
  # with its compilers.
  set -m
  nice -n 19 ionice -c 3 cmake --build --preset asan-ubsan >"$asan_log" 2>&1 &
  asan_build=$!
  set +m
  trap '[ -n "$asan_build" ] && kill -- "-$asan_build" 2>/dev/null; true' EXIT
fi
ctest --preset dev -j2 --timeout 600
echo "test.sh: dev pass $(($(date +%s) - start)) s"
if [ "$sanitizers" = 1 ]; then
  start=$(date +%s)
  if ! wait "$asan_build"; then
    asan_build=
    tail -n 60 "$asan_log"
    echo "test.sh: the asan-ubsan build failed (whole log: $asan_log)" >&2
    exit 1
  fi
  asan_build=
  # Whatever the background build left (nothing, normally) at full priority.
  cmake --build --preset asan-ubsan
  ctest --preset asan-ubsan -j2 --timeout 900 -L 'unit|fuzz|integration' -LE browser
  echo "test.sh: asan-ubsan pass $(($(date +%s) - start)) s (its build ran beside the dev tests)"
fi
