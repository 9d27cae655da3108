#!/usr/bin/env bash
# HTTP benchmark of certd with wrk (Debian package `wrk`; see bench/README.md "certd over HTTP").
# Starts a release-built certd on 127.0.0.1 with a fresh SQLite registry in a temp dir and
# keys-example, creates a department key with certctl, then:
#   1. issuing: POST /v1/licences (business-licence-enterprise sample, a new Idempotency-Key per
#      request: every request issues and stores a new sealed licence) for ISSUE_SECONDS with
#      CONNECTIONS connections, sampling certd's RSS every RSS_EVERY seconds;
#   2. verifying a PDF: POST /v1/verify (application/pdf, the full cryptographic verification +
#      registry look-up) for VERIFY_SECONDS;
#   3. verifying a QR text: POST /v1/verify ({"qr": ...}) for VERIFY_SECONDS.
# Prints wrk's throughput and latency distribution (p50/p99), the non-2xx counts, the RSS series
# (first/last/max) and the load average before and after. Fails if any request failed.
# The issuing run ends with one summary line (issue 21's acceptance figures and what they depend
# on): licences/s, p50/p99, certd's CPU per licence (utime+stime of the process over the run /
# licences issued: the figure to compare on a shared machine), the PAdES level, the registry's
# journal and sync mode, certd's worker threads, the load average.
#
#   bench/certd_wrk.sh [BUILD_DIR]        (default build/release; e.g. build/dev)
#   CONNECTIONS=16 THREADS=2 ISSUE_SECONDS=60 VERIFY_SECONDS=20 RSS_EVERY=5 bench/certd_wrk.sh
#   PADES=B-B bench/certd_wrk.sh          (config pades.level; default: certd's default, B-LT)
#   CERTD_WORKERS=4 bench/certd_wrk.sh    (config threads; default: certd's default, 8)
#   VERIFY_SECONDS=0 bench/certd_wrk.sh   (issuing only)
set -euo pipefail
cd "$(dirname "$0")/.."
# certctl has no compiled-in source tree (issue 18): this clone's templates and demo keys.
export LIBCERT_TEMPLATES=${LIBCERT_TEMPLATES:-$PWD/templates} LIBCERT_KEYS=${LIBCERT_KEYS:-$PWD/keys-example}
BIN=${1:-build/release}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
ISSUE_SECONDS=${ISSUE_SECONDS:-60}
VERIFY_SECONDS=${VERIFY_SECONDS:-20}
RSS_EVERY=${RSS_EVERY:-5}
PADES=${PADES:-}
CERTD_WORKERS=${CERTD_WORKERS:-}
TEMPLATE=business-licence-enterprise
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh)"; exit 1; }
[ -x "$BIN/daemon/certd" ] || { echo "no $BIN/daemon/certd: build it first"; exit 1; }

WORK=$(mktemp -d)
DB=$WORK/registry.db
# git does not keep file modes, and certd refuses private keys others may read.
find keys-example -name '*.key' -exec chmod 600 {} +
# Public verification is rate-limited per address (60/min, bursts of 20 by default); the one
# client here gets the largest rate and burst the configuration accepts (a burst of 20 refuses a
# few requests when 16 connections arrive together after a scheduling stall).
jq -n --arg pades "$PADES" --arg workers "$CERTD_WORKERS" '
  {limits: {verify_per_minute: 1000000, verify_burst: 1000000}}
  + (if $pades == "" then {} else {pades: {level: $pades}} end)
  + (if $workers == "" then {} else {threads: ($workers | tonumber)} end)' >"$WORK/certd.json"
"$BIN/daemon/certd" --config "$WORK/certd.json" --store "$DB" --listen 127.0.0.1 --port 0 \
  --port-file "$WORK/port" --templates templates --keys keys-example 2>"$WORK/certd.log" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { echo "certd did not start:"; cat "$WORK/certd.log"; exit 1; }
URL="http://127.0.0.1:$(cat "$WORK/port")"
KEY=$("$BIN/certctl" keys create --store "$DB" --department samr --label bench 2>/dev/null)
jq -n --arg t "$TEMPLATE" --slurpfile d "templates/$TEMPLATE/sample.json" \
  '{template: $t, data: $d[0]}' >"$WORK/issue.json"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }
echo "== machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr)"
# What the figures depend on: the PAdES level (B-T and above time-stamp every seal with certd's
# TSA, keys-example/tsa), the registry's journal and sync mode (daemon/sqlite.cpp sets
# synchronous=FULL on every connection: a COMMIT returns after fsync), the worker threads.
LEVEL=${PADES:-B-LT}  # daemon/config.h: pades_level defaults to B-LT
JOURNAL=$(command -v sqlite3 >/dev/null && sqlite3 "$DB" 'PRAGMA journal_mode' 2>/dev/null || echo wal)
LEVEL_NOTE=""; [ -n "$PADES" ] || LEVEL_NOTE=" (default)"
WORKERS_NOTE=""; [ -n "$CERTD_WORKERS" ] || WORKERS_NOTE=" (default)"
CONFIG_LINE="PAdES ${LEVEL}${LEVEL_NOTE}, SQLite journal_mode=${JOURNAL} synchronous=FULL, group commit, certd worker threads ${CERTD_WORKERS:-8}${WORKERS_NOTE}"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ); certd $BIN/daemon/certd"
echo "== configuration: $CONFIG_LINE"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== certd RSS after start-up: $(rss_kb) kB"

# Warm-up (templates, fonts, SQLite pages): 16 licences, not measured.
for i in $(seq 1 16); do
  curl -sS -o /dev/null -X POST "$URL/v1/licences" -H "Authorization: Bearer $KEY" \
    -H "Idempotency-Key: warm-$i" -H "Content-Type: application/json" --data-binary "@$WORK/issue.json"
done
echo "== RSS after warm-up: $(rss_kb) kB"

echo
echo "== 0. baseline, the HTTP layer alone: wrk -t$THREADS -c$CONNECTIONS -d10s --latency $URL/healthz"
wrk -t"$THREADS" -c"$CONNECTIONS" -d10s --latency "$URL/healthz" | tee "$WORK/health.out"

echo
echo "== 1. issuing: wrk -t$THREADS -c$CONNECTIONS -d${ISSUE_SECONDS}s --latency -s bench/certd_issue.lua $URL"
(
  while kill -0 "$PID" 2>/dev/null; do
    echo "$(date +%s) $(rss_kb)"
    sleep "$RSS_EVERY"
  done
) >"$WORK/rss.txt" &
SAMPLER=$!
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
load_issue_before=$(cut -d' ' -f1-3 /proc/loadavg)
ticks_before=$(cpu_ticks)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${ISSUE_SECONDS}s" --timeout 30s --latency \
  -s bench/certd_issue.lua "$URL" -- "$KEY" "$WORK/issue.json" "$$" | tee "$WORK/issue.out"
ticks_after=$(cpu_ticks)
load_issue_after=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
mapfile -t samples < <(awk '{print $2}' "$WORK/rss.txt")
echo "== RSS (kB) every ${RSS_EVERY}s during issuing: ${samples[*]}"
printf '== RSS first %s kB, last %s kB, max %s kB (%d samples)\n' "${samples[0]}" "${samples[-1]}" \
  "$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)" "${#samples[@]}"
issued=$(awk '/requests in/ {print $1}' "$WORK/issue.out")
echo "== SUMMARY issuing, c=$CONNECTIONS: $(awk '/^Requests\/sec:/ {print $2}' "$WORK/issue.out") licences/s," \
  "p50 $(awk '$1 == "50%" {print $2}' "$WORK/issue.out"), p99 $(awk '$1 == "99%" {print $2}' "$WORK/issue.out")," \
  "certd CPU $(awk -v a="$ticks_before" -v b="$ticks_after" -v n="$issued" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.2f", (b - a) * 1000 / hz / n}') ms/licence ($issued licences);" \
  "$CONFIG_LINE; load average $load_issue_before -> $load_issue_after ($(nproc) CPUs)"
echo "== licences issued (certd /metrics, 16 of them warm-up):"
curl -sS -H "Authorization: Bearer $("$BIN/certctl" keys create --store "$DB" --admin --scopes metrics:read --label metrics 2>/dev/null)" "$URL/metrics" | grep '^certd_licences_issued_total' | sed 's/^/   /' || true

if [ "$VERIFY_SECONDS" -gt 0 ]; then
# One licence to verify: its PDF and its QR text.
resp=$(curl -sS -X POST "$URL/v1/licences" -H "Authorization: Bearer $KEY" \
  -H "Idempotency-Key: verify-subject" -H "Content-Type: application/json" --data-binary "@$WORK/issue.json")
id=$(echo "$resp" | jq -r .id)
curl -sS -o "$WORK/lic.pdf" -H "Authorization: Bearer $KEY" "$URL/v1/licences/$id/pdf"
echo "$resp" | jq '{qr: .qr_text}' >"$WORK/qr.json"

echo
echo "== 2. verifying the PDF ($(stat -c %s "$WORK/lic.pdf") bytes): wrk -t$THREADS -c$CONNECTIONS -d${VERIFY_SECONDS}s --latency -s bench/certd_verify.lua $URL -- pdf"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${VERIFY_SECONDS}s" --timeout 30s --latency \
  -s bench/certd_verify.lua "$URL" -- pdf "$WORK/lic.pdf" | tee "$WORK/vpdf.out"
echo
echo "== 3. verifying the QR text: wrk -t$THREADS -c$CONNECTIONS -d${VERIFY_SECONDS}s --latency -s bench/certd_verify.lua $URL -- qr"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${VERIFY_SECONDS}s" --timeout 30s --latency \
  -s bench/certd_verify.lua "$URL" -- qr "$WORK/qr.json" | tee "$WORK/vqr.out"
fi
echo
echo "== RSS at the end: $(rss_kb) kB; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Any failed request fails the benchmark (wrk counts socket errors and non-2xx separately).
fail=0
for f in health issue vpdf vqr; do
  [ -f "$WORK/$f.out" ] || continue
  if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$WORK/$f.out"; then fail=1; echo "!! $f: errors"; fi
done
grep -q 'every response was 201 Created' "$WORK/issue.out" || fail=1
if [ "$VERIFY_SECONDS" -gt 0 ]; then
  grep -q 'non-200 responses: 0; 200 but not VALID: 0' "$WORK/vpdf.out" || fail=1
  grep -q 'non-200 responses: 0; 200 but not VALID: 0' "$WORK/vqr.out" || fail=1
fi
echo "== answers by route and status (certd's log):"
grep -o '"route":"[^"]*","status":[0-9]*' "$WORK/certd.log" | sort | uniq -c | sed 's/^/   /'
{ grep -v '"status":20[01]' "$WORK/certd.log" | grep '"problem"' | head -5 | sed 's/^/   !! /'; } || true
[ "$fail" -eq 0 ] && echo "== no failed requests" || { echo "!! some requests failed"; exit 1; }
