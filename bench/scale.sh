#!/usr/bin/env bash
# bench/scale.sh [BUILD_DIR] — the seeds' platform at scale (issue 21 point 5): a registry of
# 142,202 licences and 401 seals x 3 key versions, built through certd's own registry code
# (bench/scale_registry.cpp), measured at several sizes on the way up:
#   - registry bytes per licence (the SQLite file after a WAL checkpoint), the growth curve;
#   - certd's issuing and verifying rates on that registry (wrk, as bench/certd_wrk.sh, shorter);
#   - the bytes of licences certd really issued into the big registry;
#   - the trust bundle for 1,203 seal versions with status lists for 142,202 and 1,422,020 licences;
#   - optionally (INSPECTOR_3G=1) the inspector page over throttled 3G (bench/inspector_3g.mjs)
#     against certd on the full registry.
# Bounded: each certd phase runs ISSUE_SECONDS + 2 x VERIFY_SECONDS; the generator prints its
# rate. Disk: ~55 KB per licence (7.5 GB at 142,202), removed at the end unless KEEP=1.
#
#   bench/scale.sh build/dev                      # SIZES="0 14220 71101 142202" by default
#   SIZES="0 2000" ISSUE_SECONDS=5 bench/scale.sh # a quick check
#   INSPECTOR_ONLY=1 bench/scale.sh build/dev     # only the inspector page over 3G (~1 min)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release}
SIZES=${SIZES:-0 14220 71101 142202}
ISSUE_SECONDS=${ISSUE_SECONDS:-20}
VERIFY_SECONDS=${VERIFY_SECONDS:-10}
CONNECTIONS=${CONNECTIONS:-16}
DEPARTMENTS=${DEPARTMENTS:-401}
VERSIONS=${VERSIONS:-3}
REVOKED_PPM=${REVOKED_PPM:-10000}  # 1 % of the licences revoked
TEMPLATE=business-licence-enterprise
for t in wrk jq sqlite3 eatmydata; do
  command -v "$t" >/dev/null || { echo "$t is not installed (scripts/deps.sh)"; exit 1; }
done
[ -x "$BIN/bench/scale_registry" ] || { echo "no $BIN/bench/scale_registry: build it first"; exit 1; }
export LIBCERT_TEMPLATES=$PWD/templates LIBCERT_KEYS=$PWD/keys-example
find keys-example -name '*.key' -exec chmod 600 {} +

WORK=${WORK:-$(mktemp -d)}
DB=$WORK/registry.db
PID=
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
db_bytes() {
  sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
  stat -c %s "$DB"
}

echo "== machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr)"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ); build $BIN; load average $(load)"
echo "== sizes: $SIZES; $DEPARTMENTS departments x $VERSIONS seal key versions; $REVOKED_PPM ppm revoked"

# A real sealed licence per template: the rows' PDF bytes and QR texts (scale_registry.cpp).
# (Kept from an earlier run in the same WORK when KEEP=1 left it there.)
mkdir -p "$WORK/pool"
for m in templates/*/manifest.json; do
  id=$(basename "$(dirname "$m")")
  [ -s "$WORK/pool/$id.json" ] && continue
  "$BIN/certctl" issue --template "$id" --data "templates/$id/sample.json" --issued 2026-11-01 \
    --json -o "$WORK/pool/$id.pdf" >"$WORK/pool/$id.json"
done
echo "== pool: $(ls "$WORK"/pool/*.pdf | wc -l) sealed sample licences, mean $(cat "$WORK"/pool/*.pdf | wc -c | awk -v n="$(ls "$WORK"/pool/*.pdf | wc -l)" '{printf "%d", $1 / n}') B"
"$BIN/bench/scale_registry" prepare templates "$WORK/templates" "$DEPARTMENTS"

# certd on the registry: issue for ISSUE_SECONDS, verify a PDF and a QR for VERIFY_SECONDS each.
start_certd() {
  echo '{"limits": {"verify_per_minute": 1000000, "verify_burst": 1000000}}' >"$WORK/certd.json"
  rm -f "$WORK/port"
  "$BIN/daemon/certd" --config "$WORK/certd.json" --store "$DB" --listen 127.0.0.1 --port 0 \
    --port-file "$WORK/port" --templates "$WORK/templates" --keys keys-example --web "${WEB:-daemon/web}" \
    2>>"$WORK/certd.log" &
  PID=$!
  for _ in $(seq 1 600); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  [ -s "$WORK/port" ] || { echo "certd did not start:"; tail "$WORK/certd.log"; exit 1; }
  URL="http://127.0.0.1:$(cat "$WORK/port")"
}
stop_certd() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
rate() { awk '/Requests\/sec/ {printf "%.1f", $2}' "$1"; }
lat() { awk -v p="$2" '$1 == p {print $2}' "$1"; }
measure() {
  local n=$1 before after issued
  start_certd
  local key
  key=$("$BIN/certctl" keys create --store "$DB" --department samr --label "scale-$n" 2>/dev/null)
  jq -n --arg t "$TEMPLATE" --slurpfile d "templates/$TEMPLATE/sample.json" \
    '{template: $t, data: $d[0]}' >"$WORK/issue.json"
  for i in $(seq 1 8); do
    curl -sS -o /dev/null -X POST "$URL/v1/licences" -H "Authorization: Bearer $key" \
      -H "Idempotency-Key: warm-$n-$i" -H "Content-Type: application/json" --data-binary "@$WORK/issue.json"
  done
  stop_certd
  before=$(db_bytes)
  local count0
  count0=$(sqlite3 "$DB" 'SELECT count(*) FROM licences')
  start_certd
  local l0
  l0=$(load)
  wrk -t2 -c"$CONNECTIONS" -d"${ISSUE_SECONDS}s" --timeout 30s --latency \
    -s bench/certd_issue.lua "$URL" -- "$key" "$WORK/issue.json" "scale$n" >"$WORK/issue.out"
  resp=$(curl -sS -X POST "$URL/v1/licences" -H "Authorization: Bearer $key" \
    -H "Idempotency-Key: verify-$n" -H "Content-Type: application/json" --data-binary "@$WORK/issue.json")
  id=$(echo "$resp" | jq -r .id)
  curl -sS -o "$WORK/lic.pdf" -H "Authorization: Bearer $key" "$URL/v1/licences/$id/pdf"
  echo "$resp" | jq '{qr: .qr_text}' >"$WORK/qr.json"
  wrk -t2 -c"$CONNECTIONS" -d"${VERIFY_SECONDS}s" --timeout 30s --latency \
    -s bench/certd_verify.lua "$URL" -- pdf "$WORK/lic.pdf" >"$WORK/vpdf.out"
  # Warm-up: the first QR verification builds certd's view of every seal version (~1 s at 1,203).
  for i in 1 2; do
    curl -sS -o /dev/null -X POST "$URL/v1/verify" -H "Content-Type: application/json" --data-binary "@$WORK/qr.json"
  done
  wrk -t2 -c"$CONNECTIONS" -d"${VERIFY_SECONDS}s" --timeout 30s --latency \
    -s bench/certd_verify.lua "$URL" -- qr "$WORK/qr.json" >"$WORK/vqr.out"
  local l1
  l1=$(load)
  stop_certd
  after=$(db_bytes)
  local count1
  count1=$(sqlite3 "$DB" 'SELECT count(*) FROM licences')
  issued=$((count1 - count0))
  for f in issue vpdf vqr; do
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$WORK/$f.out"; then
      echo "!! $f: failed requests"; grep -E 'Non-2xx|Socket' "$WORK/$f.out"
    fi
  done
  printf '| %s | %s | %s | %s (p50 %s, p99 %s) | %s (p99 %s) | %s (p99 %s) | %d B of %d issued: %d B each (PDF %d B) | %s → %s |\n' \
    "$n" "$count0" "$before" "$(rate "$WORK/issue.out")" "$(lat "$WORK/issue.out" 50%)" \
    "$(lat "$WORK/issue.out" 99%)" "$(rate "$WORK/vpdf.out")" "$(lat "$WORK/vpdf.out" 99%)" \
    "$(rate "$WORK/vqr.out")" "$(lat "$WORK/vqr.out" 99%)" "$((after - before))" "$issued" \
    "$(( issued > 0 ? (after - before) / issued : 0 ))" "$(stat -c %s "$WORK/lic.pdf")" "$l0" "$l1" >>"$WORK/table.md"
}

# The inspector page over 3G needs only the bundle's content, not 7.5 GB of licences: what the
# page receives is every seal version (the 1,203 of 401 departments x 3) and a status list per
# department in which only the revoked licences' bits are set. INSPECTOR_ONLY=1 builds exactly
# that in seconds: the seal versions, then REVOKED_LICENCES licences (by default the 1 % of
# INSPECTOR_LICENCES = 142,202 that the full run revokes), all of them revoked, drawn over the
# departments by the same Zipf law and given random status indexes by certd's own issuance code,
# so the bundle certd serves holds the same number of set bits as the full registry's. Then
# bench/inspector_3g.mjs against certd on it (RUNS runs), and nothing else.
if [ "${INSPECTOR_ONLY:-0}" = 1 ]; then
  INSPECTOR_LICENCES=${INSPECTOR_LICENCES:-142202}
  REVOKED_LICENCES=${REVOKED_LICENCES:-$((INSPECTOR_LICENCES * REVOKED_PPM / 1000000))}
  echo
  echo "== inspector only: $DEPARTMENTS departments x $VERSIONS versions, $REVOKED_LICENCES revoked licences (as $INSPECTOR_LICENCES at $REVOKED_PPM ppm)"
  eatmydata "$BIN/bench/scale_registry" fill "$DB" "$WORK/templates" keys-example "$WORK/seal-keys" \
    "$WORK/pool" "$REVOKED_LICENCES" "$VERSIONS" 1000000 2>/dev/null | sed 's/^/   /'
  jq -n --arg t "$TEMPLATE" --slurpfile d "templates/$TEMPLATE/sample.json" \
    '{template: $t, data: $d[0]}' >"$WORK/issue.json"
  start_certd
  key=$("$BIN/certctl" keys create --store "$DB" --department samr --label scale-3g 2>/dev/null)
  qr=$(curl -sS -X POST "$URL/v1/licences" -H "Authorization: Bearer $key" \
    -H "Idempotency-Key: 3g" -H "Content-Type: application/json" --data-binary "@$WORK/issue.json" | jq -r .qr_text)
  curl -sS -o "$WORK/bundle.cose" "$URL/v1/trust-bundle"
  echo "   bundle served: $(stat -c %s "$WORK/bundle.cose") B, gzip: $(curl -sS -H 'Accept-Encoding: gzip' "$URL/v1/trust-bundle" | wc -c) B"
  echo "   load average before: $(load)"
  node bench/inspector_3g.mjs "$URL" "$qr" | sed 's/^/   /'
  echo "   load average after: $(load)"
  stop_certd
  echo "== done; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  exit 0
fi

echo
echo "== filling (scale_registry fill under eatmydata: the generator's fsyncs are skipped; certd below runs with synchronous=FULL as always)"
prev_bytes=
for n in $SIZES; do
  eatmydata "$BIN/bench/scale_registry" fill "$DB" "$WORK/templates" keys-example "$WORK/seal-keys" \
    "$WORK/pool" "$n" "$VERSIONS" "$REVOKED_PPM" 2>/dev/null | sed 's/^/   /'
  bytes=$(db_bytes)
  count=$(sqlite3 "$DB" 'SELECT count(*) FROM licences')
  echo "   registry: $count licences, $bytes B ($(du -h "$DB" | cut -f1)); load $(load)"
  echo "$count $bytes" >>"$WORK/growth.txt"
  measure "$n"
done

echo
echo "== growth (licences, registry bytes; slope between sizes = bytes per licence)"
awk 'NR > 1 && $1 > c {printf "   %d → %d licences: %d B per licence\n", c, $1, ($2 - b) / ($1 - c)} {c = $1; b = $2} END {printf "   at %d licences: %.2f GB\n", c, b / 1e9}' "$WORK/growth.txt"
echo
echo "== certd on the registry (wrk -t2 -c$CONNECTIONS; issue ${ISSUE_SECONDS}s of $TEMPLATE, verify ${VERIFY_SECONDS}s each; requests/s)"
echo "| size step | licences before | registry bytes | issue /s | verify PDF /s | verify QR /s | registry growth by certd's own licences | load before → after |"
echo "|---|---|---|---|---|---|---|---|"
cat "$WORK/table.md"

echo
echo "== trust bundle (every seal version of the registry; status lists of 2^20 bits per department; $REVOKED_PPM ppm revoked)"
last=$(tail -1 "$WORK/growth.txt" | cut -d' ' -f1)
for n in "$last" $((last * 10)); do
  "$BIN/bench/scale_registry" bundle "$WORK/templates" keys-example "$DB" "$n" "$REVOKED_PPM" | sed 's/^/   /'
done
"$BIN/certctl" seal bundle --store "$DB" --templates "$WORK/templates" --keys keys-example \
  -o "$WORK/bundle.cbor" >/dev/null
echo "   certctl seal bundle on this registry: $(stat -c %s "$WORK/bundle.cbor") B, gzip -9: $(gzip -9c "$WORK/bundle.cbor" | wc -c) B"

if [ "${INSPECTOR_3G:-0}" = 1 ]; then
  echo
  echo "== inspector page over throttled 3G against certd on this registry"
  start_certd
  key=$("$BIN/certctl" keys create --store "$DB" --department samr --label scale-3g 2>/dev/null)
  qr=$(curl -sS -X POST "$URL/v1/licences" -H "Authorization: Bearer $key" \
    -H "Idempotency-Key: 3g" -H "Content-Type: application/json" --data-binary "@$WORK/issue.json" | jq -r .qr_text)
  node bench/inspector_3g.mjs "$URL" "$qr" | sed 's/^/   /'
  stop_certd
fi
echo
echo "== done; load average $(load); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
