#!/usr/bin/env bash
# Issuing throughput of certd on PostgreSQL vs SQLite (issue 11; bench/README.md "certd on
# PostgreSQL"). Same request as bench/certd_wrk.sh (POST /v1/licences, business-licence-enterprise
# sample, a new Idempotency-Key per request, so every request issues and stores a sealed licence):
#   A. one certd on a SQLite file,
#   B. one certd on PostgreSQL,
#   C. two certd processes on the same PostgreSQL database, wrk against each at the same time
#      (half the connections each).
# PostgreSQL is a private server from tests/support/pg_server.sh (Debian's postgresql package,
# 127.0.0.1, fsync off — the figures compare certd's locking, not disks). Prints each run's
# requests/s and non-2xx counts, and the load average (the machine may be shared).
#
#   bench/certd_pg.sh [BUILD_DIR]     (default build/release; e.g. build/dev)
#   CONNECTIONS=8 SECONDS_EACH=30 bench/certd_pg.sh build/dev
set -euo pipefail
cd "$(dirname "$0")/.."
# certctl has no compiled-in source tree (issue 18): this clone's templates and demo keys.
export LIBCERT_TEMPLATES=${LIBCERT_TEMPLATES:-$PWD/templates} LIBCERT_KEYS=${LIBCERT_KEYS:-$PWD/keys-example}
BIN=${1:-build/release}
CONNECTIONS=${CONNECTIONS:-8}
SECONDS_EACH=${SECONDS_EACH:-30}
TEMPLATE=business-licence-enterprise
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh)"; exit 1; }
[ -x "$BIN/daemon/certd" ] || { echo "no $BIN/daemon/certd: build it first"; exit 1; }

# certd refuses private keys others may read (git keeps no file modes).
find keys-example -name '*.key' -exec chmod 600 {} +
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  tests/support/pg_server.sh stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
tests/support/pg_server.sh start "$WORK/pg"
PGBASE=$(cat "$WORK/pg/uri")
psql() { "$(cat "$WORK/pg/bindir")/psql" "$@"; }
jq -n --arg t "$TEMPLATE" --slurpfile d "templates/$TEMPLATE/sample.json" \
  '{template: $t, data: $d[0]}' >"$WORK/issue.json"

# start_certd NAME STORE: sets URL and appends the pid to PIDS (no $(...): a subshell would run
# the EXIT trap).
start_certd() {
  local name=$1 store=$2
  CERTD_VERIFY_PER_MINUTE=1000000 "$BIN/daemon/certd" --store "$store" --listen 127.0.0.1 \
    --port 0 --port-file "$WORK/$name.port" --templates templates --keys keys-example \
    2>"$WORK/$name.log" &
  PIDS+=("$!")
  for _ in $(seq 1 300); do [ -s "$WORK/$name.port" ] && break; sleep 0.1; done
  [ -s "$WORK/$name.port" ] || { echo "certd $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  URL="http://127.0.0.1:$(cat "$WORK/$name.port")"
}

warm() {
  for i in $(seq 1 8); do
    curl -sS -o /dev/null -X POST "$1/v1/licences" -H "Authorization: Bearer $2" \
      -H "Idempotency-Key: warm-$3-$i" -H "Content-Type: application/json" \
      --data-binary "@$WORK/issue.json"
  done
}

rate() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
non2xx() { awk '/Non-2xx/ {n = $NF} END {print n + 0}' "$1"; }

echo "== machine: $(nproc) CPU, $(uname -sr); $(date -u +%Y-%m-%dT%H:%M:%SZ); certd $BIN"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# A. SQLite
start_certd sqlite "$WORK/registry.db"
KEY=$("$BIN/certctl" keys create --store "$WORK/registry.db" --department samr --label bench 2>/dev/null)
warm "$URL" "$KEY" a
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --timeout 30s -s bench/certd_issue.lua "$URL" \
  -- "$KEY" "$WORK/issue.json" "a$$" >"$WORK/a.out"
echo "A. 1 certd, SQLite:          $(rate "$WORK/a.out") licences/s (c=$CONNECTIONS, non-2xx: $(non2xx "$WORK/a.out"))"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# B. one instance on PostgreSQL
psql "$PGBASE/postgres" -qc "CREATE DATABASE bench_b" >/dev/null
start_certd pg1 "$PGBASE/bench_b"
KEY=$("$BIN/certctl" keys create --store "$PGBASE/bench_b" --department samr --label bench 2>/dev/null)
warm "$URL" "$KEY" b
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --timeout 30s -s bench/certd_issue.lua "$URL" \
  -- "$KEY" "$WORK/issue.json" "b$$" >"$WORK/b.out"
echo "B. 1 certd, PostgreSQL:      $(rate "$WORK/b.out") licences/s (c=$CONNECTIONS, non-2xx: $(non2xx "$WORK/b.out"))"
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true

# C. two instances on one PostgreSQL database
psql "$PGBASE/postgres" -qc "CREATE DATABASE bench_c" >/dev/null
start_certd pgc1 "$PGBASE/bench_c"; URL1=$URL
start_certd pgc2 "$PGBASE/bench_c"; URL2=$URL
KEY=$("$BIN/certctl" keys create --store "$PGBASE/bench_c" --department samr --label bench 2>/dev/null)
warm "$URL1" "$KEY" c1
warm "$URL2" "$KEY" c2
half=$(( (CONNECTIONS + 1) / 2 ))
wrk -t1 -c"$half" -d"${SECONDS_EACH}s" --timeout 30s -s bench/certd_issue.lua "$URL1" \
  -- "$KEY" "$WORK/issue.json" "c1$$" >"$WORK/c1.out" &
W1=$!
wrk -t1 -c"$half" -d"${SECONDS_EACH}s" --timeout 30s -s bench/certd_issue.lua "$URL2" \
  -- "$KEY" "$WORK/issue.json" "c2$$" >"$WORK/c2.out"
wait "$W1"
r1=$(rate "$WORK/c1.out"); r2=$(rate "$WORK/c2.out")
echo "C. 2 certd, one PostgreSQL:  $(awk -v a="$r1" -v b="$r2" 'BEGIN {printf "%.1f", a + b}') licences/s ($r1 + $r2; c=$half+$half, non-2xx: $(non2xx "$WORK/c1.out")/$(non2xx "$WORK/c2.out"))"
echo "   licences in the shared registry: $(psql "$PGBASE/bench_c" -Atc 'SELECT COUNT(*) FROM licences'), duplicate serials: $(psql "$PGBASE/bench_c" -Atc 'SELECT COUNT(*) - COUNT(DISTINCT serial) FROM licences')"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
