#!/usr/bin/env bash
# tests/support/pg_server.sh — a private, throw-away PostgreSQL server for the tests (issue 11).
#
#   tests/support/pg_server.sh start STATE_DIR   # initdb + pg_ctl start; writes STATE_DIR/uri
#   tests/support/pg_server.sh stop STATE_DIR    # pg_ctl stop, removes the data directory
#
# STATE_DIR/uri then holds "postgresql://certd@127.0.0.1:PORT" (superuser `certd`, trust
# authentication — the server listens on 127.0.0.1 only and its unix socket lives in its own
# 0700 directory, so nothing outside this machine's loopback can reach it). Tests create one fresh
# database per test case in it (tests/support/postgres.h). ctest starts it once per run as the
# fixture `postgres` (tests/integration/CMakeLists.txt).
#
# Binaries: Debian's postgresql package puts initdb/pg_ctl in /usr/lib/postgresql/N/bin, which is
# not on PATH (and a PATH lookup may find a stray /usr/local/bin/pg_ctl of another version), so
# they are taken from `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin;
# LIBCERT_PG_BINDIR overrides both.
#
# Root: PostgreSQL refuses to run as root. When run as root (CI containers), the server runs as the
# `postgres` system user that the Debian package creates (else `nobody`) via runuser(1), in a data
# directory under /tmp that this script chowns to that user.
set -euo pipefail

cmd=${1:?usage: pg_server.sh start|stop STATE_DIR}
state=${2:?usage: pg_server.sh start|stop STATE_DIR}

find_bindir() {
  if [ -n "${LIBCERT_PG_BINDIR:-}" ]; then echo "$LIBCERT_PG_BINDIR"; return; fi
  local b
  if b=$(pg_config --bindir 2>/dev/null) && [ -x "$b/initdb" ] && [ -x "$b/pg_ctl" ]; then
    echo "$b"; return
  fi
  b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$b" ] && [ -x "$b/initdb" ]; then echo "$b"; return; fi
  echo "pg_server.sh: no PostgreSQL server binaries (install the Debian package postgresql)" >&2
  exit 2
}

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$SERVER_USER" -- "$@"; else "$@"; fi
}

SERVER_USER=postgres
id -u postgres >/dev/null 2>&1 || SERVER_USER=nobody

stop_server() {
  [ -f "$state/root" ] || return 0
  local root bindir
  root=$(cat "$state/root")
  bindir=$(cat "$state/bindir" 2>/dev/null || find_bindir)
  if [ -f "$root/data/postmaster.pid" ]; then
    as_server_user "$bindir/pg_ctl" -D "$root/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$root"
  rm -f "$state/root" "$state/uri" "$state/bindir"
}

case "$cmd" in
  start)
    mkdir -p "$state"
    stop_server
    bindir=$(find_bindir)
    root=$(mktemp -d /tmp/libcert-pg-XXXXXX)
    chmod 0700 "$root"
    [ "$(id -u)" -eq 0 ] && chown "$SERVER_USER" "$root"
    echo "$root" >"$state/root"
    echo "$bindir" >"$state/bindir"
    if ! as_server_user "$bindir/initdb" -D "$root/data" -U certd -A trust -E UTF8 --no-locale \
        --no-sync >"$state/initdb.log" 2>&1; then
      cat "$state/initdb.log" >&2
      exit 1
    fi
    # A free port: pick one at random, let the server's bind be the test (it fails if taken).
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 40000))
      # fsync off, no WAL-safety: throw-away data, and the tests should not wait for the disk.
      if as_server_user "$bindir/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 \
          -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$root \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
          start >/dev/null 2>&1; then
        echo "postgresql://certd@127.0.0.1:$port" >"$state/uri"
        echo "pg_server.sh: PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port ($root)"
        exit 0
      fi
    done
    cat "$root/server.log" >&2 || true
    exit 1
    ;;
  stop)
    stop_server
    ;;
  *)
    echo "usage: pg_server.sh start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
