#!/usr/bin/env bash
# bench/run.sh — every benchmark from a fresh clone on Debian 12 (about 5 minutes on an idle 2-core
# machine, build included):
# installs what it needs, builds the `release` preset, runs
#   issue_bench       per-stage times of one licence, size and issue time per template
#   throughput_bench  licences/s and p50/p99 on 1 and 2 threads: issue, verify_pdf, verify_qr
#   certctl batch     BATCH_N (default 5000) mixed licences on 2 threads, RSS sampled every 5 s
#   certd_wrk.sh      certd over HTTP with wrk (issue and verify), if present
#   peer.sh           the same licences through WeasyPrint + pdfsig, ratios ours/theirs
# and appends the raw figures, with machine, date and load, to bench/README.md ("Runs" section).
set -euo pipefail
cd "$(dirname "$0")/.."
# certctl has no compiled-in paths (issue 18): the benches seal with the demo keys of this clone.
export LIBCERT_TEMPLATES=${LIBCERT_TEMPLATES:-$PWD/templates} LIBCERT_KEYS=${LIBCERT_KEYS:-$PWD/keys-example}
root=$PWD
start=$SECONDS
bash scripts/deps.sh weasyprint qrencode wrk eatmydata sqlite3
cmake --preset release >/dev/null
# Only what the benchmarks run (not the test binaries): keeps a fresh clone's run under 10 min.
cmake --build --preset release -j"$(nproc)" \
  --target certctl certd issue_bench throughput_bench >/dev/null
B=$root/build/release
build_s=$((SECONDS - start))
n=${BATCH_N:-5000}
out=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$work" "$out"' EXIT

{
  echo "### $(date -u +%Y-%m-%dT%H:%MZ) — $(uname -m), $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GB, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo '```'
  echo "\$ issue_bench 50"
  "$B/bench/issue_bench" 50
  echo
  echo "\$ throughput_bench 300"
  "$B/bench/throughput_bench" 300
  echo
  echo "\$ certctl issue --batch ($n mixed licences, 2 threads; RSS every 5 s)"
  bash bench/make_batch.sh "$n" > "$work/batch.jsonl"
  "$B/certctl" issue --batch "$work/batch.jsonl" --out-dir "$work/batch" --issued 2026-11-01 \
    --threads 2 --no-progress > "$work/batch.txt" &
  pid=$!
  rss=()
  while kill -0 "$pid" 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$r" ] && rss+=("$((r / 1024))")
    sleep 5
  done
  wait "$pid"
  cat "$work/batch.txt"
  echo "RSS MB every 5 s: ${rss[*]}"
  rm -rf "$work/batch"
  echo '```'
  if [ -x bench/certd_wrk.sh ]; then
    echo
    echo '```'
    echo "\$ bench/certd_wrk.sh"
    # A failed request is reported in the figures; the remaining benchmarks still run.
    bash bench/certd_wrk.sh "$B" || echo "!! certd_wrk.sh exit status $? (see above)"
    echo '```'
  fi
  echo
  echo "Peer run (bench/peer.sh):"
  echo
  bash bench/peer.sh "$B"
  echo
  echo "bench/run.sh: $((SECONDS - start)) s in all, of which $build_s s installing and building"
  echo
} | tee "$out"

grep -q '^## Runs' bench/README.md || printf '\n## Runs\n\nAppended by bench/run.sh, newest last.\n\n' >> bench/README.md
cat "$out" >> bench/README.md
echo "bench: figures appended to bench/README.md"
