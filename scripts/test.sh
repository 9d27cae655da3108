#!/usr/bin/env bash
# The whole test suite: install dependencies, build with the dev preset (-Werror: every test
# target is compiled there), then every test runs once, in one of two passes:
# - asan-ubsan (Debug, AddressSanitizer + UBSan + LeakSanitizer; no interop tests or benchmarks):
#   the labels unit, fuzz (corpus replay), integration (certd over loopback, crash safety) and
#   postgres (the same on PostgreSQL, pg.*);
# - dev (RelWithDebInfo): every other label — interop (external tools and ofd.js on our output),
#   browser (chromium), package (the .deb).
# A check below fails the suite if a test would run in neither pass (a new label, or a test the
# asan-ubsan build does not register). LIBCERT_SKIP_SANITIZERS=1 skips the sanitizer build (a quick
# local run): the dev pass then runs every test. Where the time goes, and the bounded load tests
# (their full-length soaks are bench/soak.sh): docs/testing.md.
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
# The labels that run under the sanitizers; the dev pass runs the rest (-LE of the same regex).
san_labels='^(unit|fuzz|integration|postgres)$'
# Sorted names of the tests `ctest -N <args>` selects in build dir $1.
test_names() {
  local dir=$1; shift
  ctest --test-dir "$dir" -N "$@" | sed -n 's/^ *Test *#[0-9]*: //p' | sort -u
}
dev_args=()
if [ "$sanitizers" = 1 ]; then
  dev_args=(-LE "$san_labels")
  # Every test of the dev build is in exactly one of the two selections.
  all=$(test_names build/dev | wc -l)
  in_dev=$(test_names build/dev -LE "$san_labels" | wc -l)
  in_san=$(test_names build/dev -L "$san_labels" | wc -l)
  if [ "$in_san" -eq 0 ] || [ $((in_dev + in_san)) -ne "$all" ]; then
    echo "test.sh: $all tests, $in_dev in the dev pass + $in_san in the asan-ubsan pass" >&2
    exit 1
  fi
  echo "test.sh: $all tests: $in_dev in the dev pass, $in_san in the asan-ubsan pass"
fi
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
ctest --preset dev -j2 --timeout 600 "${dev_args[@]}"
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
  # The asan-ubsan build registers the same tests under these labels as the dev build (it leaves
  # out interop tests and benchmarks only): a test missing here would run in neither pass.
  missing=$(comm -23 <(test_names build/dev -L "$san_labels") <(test_names build/asan-ubsan -L "$san_labels"))
  if [ -n "$missing" ]; then
    printf '%s\n' "$missing" >&2
    echo "test.sh: these tests of the dev build are not in the asan-ubsan build: neither pass runs them" >&2
    exit 1
  fi
  ctest --preset asan-ubsan -j2 --timeout 900 -L "$san_labels"
  echo "test.sh: asan-ubsan pass $(($(date +%s) - start)) s (its build ran beside the dev tests)"
fi
