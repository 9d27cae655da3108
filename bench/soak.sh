#!/usr/bin/env bash
# bench/soak.sh — the full-length load and soak runs that the test suite runs bounded (CI time,
# session 7): the same tests, the same assertions, longer.
#   ApiSeal.RotationUnderLoad… (sqlite and pg.): 32 s of 4 clients issuing with two rotations
#     (issue 7; the suite runs 12 s) — CERTD_TEST_LOAD_SECONDS, read by the test.
#   pg.MultiInstance…: three certds on one PostgreSQL under 32 s of issuance with a rotation
#     (issue 11; the suite runs 12 s).
#   ofd_render_all with ofd.js's own SM3 digestCheck on all 24 OFDs (the suite runs it on one per
#     page size; sesverify checks every file's digests there) — OFDJS_DIGEST=all.
# Needs a configured and built dev preset (bash scripts/test.sh, or cmake --preset dev && cmake
# --build --preset dev). About 15 minutes on an idle 2-core machine.
#   bench/soak.sh [SECONDS]   (default 32)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-32}
export CERTD_TEST_LOAD_SECONDS=$secs OFDJS_DIGEST=all
ctest --test-dir build/dev --output-on-failure --timeout 1800 \
  -R '^(pg\.)?ApiSeal\.RotationUnderLoad|^pg\.MultiInstance\.|^ofd_render_all$|^postgres_(start|stop)$'
