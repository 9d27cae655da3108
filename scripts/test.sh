#!/usr/bin/env bash
# The whole test suite: install dependencies, then every test runs once, in one of two passes
# chosen by its ctest label, each from the build that builds it:
# - asan-ubsan (AddressSanitizer + UBSan + LeakSanitizer in libcert, certd and certctl at -Og -g1;
#   the test sources uninstrumented at -O0, linked with the sanitizer runtimes; no interop tests or
#   benchmarks): the labels unit, fuzz (corpus replay), integration (certd over loopback, crash
#   safety) and postgres (the same on PostgreSQL, pg.*); this build builds and discovers every test
#   executable of its configuration;
# - dev (RelWithDebInfo, -Werror): the labels interop (external tools and ofd.js on our output),
#   browser (chromium), package (the .deb); this build builds only the `dev_pass` target (what
#   those tests run, the interop test executables and the benchmarks; tests/CMakeLists.txt).
# Order (2 cores, CPU-bound): the asan-ubsan build, then its tests with the dev build beside them
# at the lowest priority (it fills the time the tests spend waiting on daemons, sockets and
# deadlines), then the dev tests. Checks fail the suite if a test would run in neither pass: a
# test executable neither build builds, a sanitizer-label test the asan-ubsan build lacks, or a
# test of another label the dev pass lacks. LIBCERT_SKIP_SANITIZERS=1 skips the sanitizer build (a
# quick local run): the dev build then builds everything and the dev pass runs every test. Where
# the time goes, and the bounded load tests (their full-length soaks are bench/soak.sh):
# docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# git does not keep file modes, and certd refuses private keys others may read.
find keys-example -name '*.key' -exec chmod 600 {} +
sanitizers=1
[ "${LIBCERT_SKIP_SANITIZERS:-0}" = 1 ] && sanitizers=0
# The labels that run under the sanitizers; the dev pass runs the rest (-LE of the same regex).
san_labels='^(unit|fuzz|integration|postgres)$'
# Sorted names of the tests `ctest -N <args>` selects in build dir $1.
test_names() {
  local dir=$1; shift
  ctest --test-dir "$dir" -N "$@" | sed -n 's/^ *Test *#[0-9]*: //p' | sort -u
}
# gtest_discover_tests registers an executable that its build has not built as one placeholder
# test, <target>_NOT_BUILT (no label): in the dev build, the unit/fuzz/integration executables.
not_built='_NOT_BUILT$'

if [ "$sanitizers" = 0 ]; then
  start=$(date +%s)
  cmake --preset dev >/dev/null
  cmake --build --preset dev
  echo "test.sh: dev build $(($(date +%s) - start)) s"
  ctest --preset dev -j2 --timeout 600
  echo "test.sh: dev build and pass $(($(date +%s) - start)) s"
  exit 0
fi

start=$(date +%s)
cmake --preset asan-ubsan >/dev/null
cmake --preset dev >/dev/null
cmake --build --preset asan-ubsan
echo "test.sh: asan-ubsan build $(($(date +%s) - start)) s"
start=$(date +%s)
# The dev build runs beside the sanitizer tests, at the lowest CPU and I/O priority: the tests
# keep the CPU whenever they ask for it (CFS weight 15 against 1024 in this session's group), and
# the build uses the time they spend waiting on daemons, sockets, deadlines and the serial load
# tests. Its own process group (job control on for the launch only; the same session, so the same
# scheduler autogroup and nice still ranks it below the tests), so that a failing sanitizer pass
# stops it with its compilers. Its output goes to a log, shown on failure.
dev_log=build/dev-build.log
set -m
nice -n 19 ionice -c 3 cmake --build --preset dev --target dev_pass >"$dev_log" 2>&1 &
dev_build=$!
set +m
trap '[ -n "$dev_build" ] && kill -- "-$dev_build" 2>/dev/null; true' EXIT
in_san=$(test_names build/asan-ubsan -L "$san_labels" | wc -l)
echo "test.sh: $in_san tests in the asan-ubsan pass"
ctest --preset asan-ubsan -j2 --timeout 900 -L "$san_labels"
echo "test.sh: asan-ubsan pass $(($(date +%s) - start)) s (the dev build ran beside it)"
start=$(date +%s)
if ! wait "$dev_build"; then
  dev_build=
  tail -n 60 "$dev_log"
  echo "test.sh: the dev build failed (whole log: $dev_log)" >&2
  exit 1
fi
dev_build=
# Whatever the background build left (nothing, normally) at full priority.
cmake --build --preset dev --target dev_pass
echo "test.sh: rest of the dev build $(($(date +%s) - start)) s"
dev_args=(-LE "$san_labels" -E "$not_built")
# Every test runs in one of the two passes:
fail=
# 1. every test executable the dev build left unbuilt is built (and discovered) by the
#    asan-ubsan build, which builds everything of its configuration;
unbuilt=$(comm -23 <(test_names build/dev | sed -n "s/$not_built//p") \
                   <(find build/asan-ubsan -name '*_tests.cmake' -printf '%f\n' |
                     sed 's/\[[0-9]*\]_tests\.cmake$//' | sort -u))
if [ -n "$unbuilt" ] || test_names build/asan-ubsan | grep -q "$not_built"; then
  printf '%s\n' "$unbuilt" >&2
  echo "test.sh: test executables neither build builds (a label outside $san_labels: add the target to dev_pass in tests/CMakeLists.txt)" >&2
  fail=1
fi
# 2. the dev build's unit/fuzz/integration/postgres tests are all registered by the asan-ubsan
#    build too (it leaves out interop tests and benchmarks only);
missing=$(comm -23 <(test_names build/dev -L "$san_labels") <(test_names build/asan-ubsan -L "$san_labels"))
if [ -n "$missing" ]; then
  printf '%s\n' "$missing" >&2
  echo "test.sh: these tests of the dev build are not in the asan-ubsan build: neither pass runs them" >&2
  fail=1
fi
# 3. a test of the asan-ubsan build under any other label is in the dev pass.
missing=$(comm -23 <(test_names build/asan-ubsan -LE "$san_labels") <(test_names build/dev "${dev_args[@]}"))
if [ -n "$missing" ]; then
  printf '%s\n' "$missing" >&2
  echo "test.sh: these tests of the asan-ubsan build are outside $san_labels and not in the dev pass" >&2
  fail=1
fi
[ -z "$fail" ] || exit 1
in_dev=$(test_names build/dev "${dev_args[@]}" | wc -l)
echo "test.sh: $((in_dev + in_san)) tests: $in_san in the asan-ubsan pass, $in_dev in the dev pass"
ctest --preset dev -j2 --timeout 600 "${dev_args[@]}"
echo "test.sh: dev pass $(($(date +%s) - start)) s"
