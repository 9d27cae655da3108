#!/usr/bin/env bash
# bench/batch_reissue.sh [BUILD_DIR] — the seeds' platform re-issued with `certctl issue --batch`
# (issue 21 acceptance: >= 1,000 licences/s on 2 threads, the 142,202-licence re-issue under
# 2.5 min). Mixed templates (bench/make_batch.sh: the 24 samples in turn, each its own serial),
# output on the local disk, durable results (group commit, certctl/batch.h).
#
#   bench/batch_reissue.sh build/release                 # N=142202, 2 threads
#   N=20000 WRITERS="libcert cairo" bench/batch_reissue.sh build/dev
#
# Reports per run: wall time, licences/s, CPU (user + sys of certctl) per licence, the load
# average before and after, bytes per licence, and the time the full 142,202 would take at the
# measured rate (wall) and at the CPU-bound rate (CPU per licence / THREADS cores). The PAdES level
# is B-B: certctl seals without a time-stamp (certd's default is B-LT, bench/certd_wrk.sh).
# Disk: ~50 KB per licence (7 GB for 142,202 per writer), removed at the end unless KEEP=1. Each
# run writes to a new directory and nothing is deleted between runs: ext4 does not reuse inodes
# freed in the last minutes and scans past them (recently_deleted), which made file creation
# several times dearer right after an `rm -rf`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release}
N=${N:-142202}
FULL=142202
THREADS=${THREADS:-2}
WRITERS=${WRITERS:-default}  # "default" = the library's default PDF writer; or libcert, cairo
COMMIT_EVERY=${COMMIT_EVERY:-256}
for t in jq /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "$t is not installed (scripts/deps.sh)"; exit 1; }
done
[ -x "$BIN/certctl" ] || { echo "no $BIN/certctl: build it first"; exit 1; }
export LIBCERT_TEMPLATES=$PWD/templates LIBCERT_KEYS=$PWD/keys-example
find keys-example -name '*.key' -exec chmod 600 {} +

WORK=${WORK:-$(mktemp -d)}
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr)"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ); build $BIN; $N licences (of $FULL), $THREADS threads, B-B, commit every $COMMIT_EVERY"
bash bench/make_batch.sh "$N" templates >"$WORK/in.jsonl"
echo "== input: $(wc -l <"$WORK/in.jsonl") lines, $(stat -c %s "$WORK/in.jsonl") B"

for w in $WRITERS; do
  out=$WORK/out-$w
  args=()
  [ "$w" = default ] || args=(--pdf-writer "$w")
  l0=$(load)
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$BIN/certctl" issue --batch "$WORK/in.jsonl" \
    --out-dir "$out" --threads "$THREADS" --issued 2026-11-01 --no-progress --json \
    --commit-every "$COMMIT_EVERY" "${args[@]}" >"$WORK/summary.json" 2>"$WORK/stderr" || {
    echo "certctl failed:"; cat "$WORK/stderr" "$WORK/summary.json"; exit 1; }
  l1=$(load)
  read -r wall user sys rss <"$WORK/time"
  issued=$(jq .issued "$WORK/summary.json")
  rejected=$(jq .rejected "$WORK/summary.json")
  bytes=$(find "$out" -name '*.pdf' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  awk -v w="$w" -v n="$issued" -v r="$rejected" -v wall="$wall" -v user="$user" -v sys="$sys" \
    -v rss="$rss" -v bytes="$bytes" -v full="$FULL" -v th="$THREADS" -v l0="$l0" -v l1="$l1" 'BEGIN {
      cpu = (user + sys) * 1000 / n
      printf "writer %-8s %d issued, %d rejected: wall %.1f s, %.0f licences/s; CPU %.2f ms/licence (user %.1f s, sys %.1f s); %.0f B/licence; peak RSS %.0f MB; load %s -> %s\n",
        w, n, r, wall, n / wall, cpu, user, sys, bytes / n, rss / 1024, l0, l1
      printf "  %d licences: %.1f min at this rate; %.1f min CPU-bound on %d cores (%.0f licences/s)\n",
        full, full / (n / wall) / 60, full * cpu / 1000 / th / 60, th, th * 1000 / cpu
    }'
done
