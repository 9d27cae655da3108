#!/usr/bin/env bash
# The Debian package test (ctest `deb_package`, issue 18): build the .deb files with CPack from
# the build tree, install them with dpkg, check the unit with `systemd-analyze verify`, run the
# unit's ExecStartPre and ExecStart by hand as the `certd` user (no systemd runs as PID 1 here)
# with nothing configured but /etc/certd, in a mount namespace where the source tree is hidden
# under an empty tmpfs (so nothing can be read from it), issue and verify a licence through the
# API on 127.0.0.1, stop certd, check the 0600/0700 modes, and `dpkg --purge`.
#
#   tests/deb/run.sh SOURCE_DIR BUILD_DIR
#
# Needs root (dpkg, a system user, a mount namespace): otherwise it prints SKIP and exits 77
# (ctest SKIP_RETURN_CODE). It installs into this machine's /usr, /etc and /var: run it alone.
set -euo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: deb_package needs root (dpkg -i)"; exit 77; fi
for tool in dpkg cpack systemd-analyze unshare setpriv curl jq; do
  command -v "$tool" >/dev/null || { echo "SKIP: deb_package needs $tool"; exit 77; }
done
if [ "$(dpkg-query -W -f='${Status}' certd 2>/dev/null || true)" = "install ok installed" ]; then
  echo "SKIP: a certd package is already installed on this machine; not touching it"; exit 77
fi
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  dpkg --purge certd libcert-dev >/dev/null 2>&1 || true
  rm -rf /var/lib/certd /etc/certd
  getent passwd certd >/dev/null && userdel certd 2>/dev/null || true
  getent group certd >/dev/null && groupdel certd 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "deb: FAIL: $*"; [ -f "$work/certd.log" ] && tail -20 "$work/certd.log"; exit 1; }
mode() { stat -c %a "$1"; }

# 1. Build the packages (the components of cmake/packaging.cmake).
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
certd_deb=$(ls "$work"/pkg/certd_*.deb) dev_deb=$(ls "$work"/pkg/libcert-dev_*.deb)
echo "deb: built $(basename "$certd_deb") ($(stat -c %s "$certd_deb") bytes), $(basename "$dev_deb")"
dpkg-deb -I "$certd_deb" >"$work/info.txt"  # (not piped into grep -q: SIGPIPE under pipefail)
grep -q "conffiles" "$work/info.txt" || fail "no conffiles in the certd package"

# 2. Install.
dpkg -i "$certd_deb" "$dev_deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
getent passwd certd >/dev/null || fail "postinst did not create the certd user"
[ "$(getent passwd certd | cut -d: -f7)" = /usr/sbin/nologin ] || fail "certd user has a login shell"
for d in /var/lib/certd /var/lib/certd/keys /etc/certd/keys; do
  [ "$(mode "$d")" = 700 ] && [ "$(stat -c %U "$d")" = certd ] || fail "$d: mode $(mode "$d") owner $(stat -c %U "$d")"
done
unit=/lib/systemd/system/certd.service
[ -f "$unit" ] || fail "no $unit"
for want in "ProtectSystem=strict" "ReadWritePaths=/var/lib/certd" "NoNewPrivileges=yes" \
            "PrivateTmp=yes" "CapabilityBoundingSet=" "ExecReload=/bin/kill -HUP \$MAINPID" "User=certd"; do
  grep -qxF "$want" "$unit" || fail "unit lacks $want"
done

# 3. The unit is valid for systemd (no PID 1 needed for verify).
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 ||
  { cat "$work/verify.log"; fail "systemd-analyze verify"; }
echo "deb: systemd-analyze verify $unit: OK"

# 4. Configure /etc/certd only: the demo keys (as an operator trying the package would), a port.
cp -r /usr/share/certd/keys-example/. /etc/certd/keys/
rm -f /etc/certd/keys/README.md
find /etc/certd/keys -name '*.key' -exec chmod 600 {} +
find /etc/certd/keys -type d -exec chmod 700 {} +
chown -R certd:certd /etc/certd/keys
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
jq --argjson p "$port" '.port = $p' /etc/certd/certd.json >"$work/certd.json"
cat "$work/certd.json" >/etc/certd/certd.json  # keeps the file's owner and mode (root:certd 0640)

# 5. Run ExecStartPre and ExecStart as the unit does: user certd, the unit's UMask, an empty
#    environment, working directory /, and the source tree (with the build tree in it) hidden.
pre=$(sed -n 's/^ExecStartPre=//p' "$unit") start=$(sed -n 's/^ExecStart=//p' "$unit")
umask_=$(sed -n 's/^UMask=//p' "$unit")
# `exec` all the way down: the process started in the background is certd itself, so that the
# SIGTERM below reaches it (as systemd's would).
as_certd() {
  exec unshare -m sh -c "mount -t tmpfs -o size=1m,mode=0700 none '$src' && cd / && umask $umask_ &&
    exec setpriv --reuid=certd --regid=certd --init-groups --no-new-privs \
    env -i PATH=/usr/bin:/bin $*"
}
(as_certd "$pre") >"$work/check.log" 2>&1 || { cat "$work/check.log"; fail "ExecStartPre: $pre"; }
echo "deb: ExecStartPre: $(cat "$work/check.log")"
as_certd "$start" 2>"$work/certd.log" &
pid=$!
url=http://127.0.0.1:$port
for _ in $(seq 1 150); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$url/healthz" >/dev/null || fail "certd did not answer /healthz"
grep -q "EXAMPLE KEYS" "$work/certd.log" || fail "certd did not log the example-keys notice"

# 6. An API key (certctl as the certd user: certd.json names the registry and templates), one
#    licence issued and verified through the API.
key=$( (as_certd "certctl keys create --store /var/lib/certd/registry.db --department samr --label deb-test") 2>"$work/keys.log") ||
  { cat "$work/keys.log"; fail "certctl keys create"; }
data=/usr/share/certd/templates/business-licence-enterprise/sample.json
jq -n --slurpfile d "$data" '{template: "business-licence-enterprise", data: $d[0]}' >"$work/req.json"
code=$(curl -sS -o "$work/issued.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -H 'Idempotency-Key: deb-1' --data-binary @"$work/req.json" "$url/v1/licences")
[ "$code" = 201 ] || { cat "$work/issued.json"; fail "issue answered $code"; }
id=$(jq -r .id "$work/issued.json")
[ "$(jq -r .notice "$work/issued.json")" = "EXAMPLE KEYS — NOT VALID FOR REAL LICENCES" ] ||
  fail "the issuance answer does not say EXAMPLE KEYS"
curl -fsS -H "Authorization: Bearer $key" -o "$work/licence.pdf" "$url/v1/licences/$id/pdf"
curl -fsS -H 'Content-Type: application/pdf' --data-binary @"$work/licence.pdf" "$url/v1/verify" >"$work/report.json"
result=$(jq -r .result "$work/report.json") notice=$(jq -r .notice "$work/report.json")
[ "$result" = VALID ] || { jq . "$work/report.json" | head -40; fail "verify: $result"; }
[ "$notice" = "EXAMPLE KEYS — NOT VALID FOR REAL LICENCES" ] || fail "the report does not say EXAMPLE"
echo "deb: issued $id through $url as user certd; /v1/verify: $result, notice: $notice"

# 7. Stop (SIGTERM, as systemd does), then the modes certd left behind.
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
[ "$rc" = 0 ] || fail "certd exited $rc on SIGTERM"
[ "$(mode /var/lib/certd)" = 700 ] || fail "/var/lib/certd mode $(mode /var/lib/certd)"
for f in /var/lib/certd/registry.db*; do
  [ "$(mode "$f")" = 600 ] && [ "$(stat -c %U "$f")" = certd ] || fail "$f: mode $(mode "$f") owner $(stat -c %U "$f")"
done
find /etc/certd/keys /var/lib/certd/keys -name '*.key' | while read -r f; do
  [ "$(mode "$f")" = 600 ] || fail "$f: mode $(mode "$f")"
done
echo "deb: modes: /var/lib/certd 700, $(ls /var/lib/certd/registry.db* | xargs -n1 basename | tr '\n' ' ')600, keys 600 in 700"

# 8. Purge: the package's files and configuration go; the registry and keys stay, still private.
dpkg --purge certd libcert-dev >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
[ ! -e /usr/bin/certd ] && [ ! -e /etc/certd/certd.json ] && [ ! -e "$unit" ] || fail "purge left package files"
[ "$(mode /var/lib/certd)" = 700 ] && [ "$(mode /var/lib/certd/registry.db)" = 600 ] || fail "registry modes after purge"
echo "deb: purged; registry kept (0700/0600) for the operator to remove (docs/operations.md)"
