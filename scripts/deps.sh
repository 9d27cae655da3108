#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing libcert/certd needs.
# Idempotent: skips apt-get when everything is already installed. Extra package names given as
# arguments are installed too (bench/run.sh adds its peer tools that way).
# `--main` (scripts/main.sh): everything except TEST_ONLY below — the main job builds, issues and
# runs certd, and needs no browser, database server, fuzzing compiler or independent verifier.
set -euo pipefail
main_only=0
if [ "${1:-}" = --main ]; then main_only=1; shift; fi
PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libssl-dev libqrencode-dev libcairo2-dev libpango1.0-dev libharfbuzz-dev libfontconfig-dev
  libdeflate-dev
  libpoppler-glib-dev nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev
  libsqlite3-dev libpq-dev libicu-dev zlib1g-dev libzbar-dev
  # OFD container and XML (issue 22): libzip (ZIP_CHECKCONS local/central checks), libxml2
  libzip-dev libxml2-dev
  # certctl's and certd's command-line parsing (header-only)
  libcli11-dev
  # certd's HTTP server (daemon/server.cpp): Boost.Beast + Asio, header-only (issue 17); the
  # tests keep cpp-httplib as their client
  libboost1.74-dev
  # fonts: Tibetan (Noto Serif Tibetan), Noto Serif CJK SC (the templates' Chinese, CFF, issue 21
  # point 3, and the seals), CJK TrueType Song/Ming (UMing: fallback), rare-character fallbacks
  fonts-noto-core fonts-noto-cjk fonts-arphic-uming fonts-hanazono fonts-tibetan-machine
  fonts-wqy-zenhei
  # fontTools (ttx): an independent reader of the CFF subsets the PDF writer embeds (tests)
  python3-fonttools
  # independent verifiers used by the tests
  poppler-utils mupdf-tools qpdf zbar-tools libnss3-tools
  # certd demo (daemon/demo.sh) reads JSON answers with jq; tests use curl as an HTTPS peer
  jq curl
  # certd HTTP benchmark (bench/certd_wrk.sh); inspector page end-to-end tests (headless browser)
  wrk chromium
  # PostgreSQL server for the shared-registry tests (tests/support/pg_server.sh, issue 11)
  postgresql
  # a clock set back for certd under test (tests/integration/api_faults_test.cpp, issue 17)
  faketime
  # PKCS#11 token keys (libcert/pkcs11.h): p11-kit's pkcs11.h; SoftHSM2 + OpenSC for the tests
  libp11-kit-dev softhsm2 opensc
  # fuzzing (preset `fuzz`): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
)
# Packages only the test command needs (scripts/test.sh); new test-only packages go here too.
TEST_ONLY=(
  libgtest-dev libgmock-dev poppler-utils mupdf-tools qpdf zbar-tools libnss3-tools
  wrk chromium postgresql faketime clang libclang-rt-14-dev softhsm2 opensc python3-fonttools
  # the Debian package test (tests/deb/run.sh): systemd-analyze verify on the unit
  systemd
)
if ((main_only)); then
  keep=()
  for p in "${PKGS[@]}"; do
    [[ " ${TEST_ONLY[*]} " == *" $p "* ]] || keep+=("$p")
  done
  PKGS=("${keep[@]}")
else
  PKGS+=(systemd)
fi
PKGS+=("$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
