#!/usr/bin/env bash
# The 24 templates' sample.json issued in BOTH renditions by ONE `certctl issue --batch --format
# both` (issue 22), plus the trust bundle (version 1) to verify them against:
#   issue_samples.sh CERTCTL SOURCE_DIR OUT_DIR   (OUT_DIR is emptied first)
# → OUT_DIR/out/results.jsonl (one line per template, in template order: its pdf, ofd, identifier)
#   and OUT_DIR/bundle.cose. The ctest fixture `interop_samples` (tests/CMakeLists.txt) runs it once
# per ctest run for the interop tests that check the issued samples (interop_ofd_issue_all_test: 24
# tests, each in its own process, issued all 48 files again before, 6 s each); such a test run by
# hand, without the fixture, runs it into a temporary directory itself.
set -euo pipefail
certctl=$1
src=$2
out=$3
rm -rf "$out"
mkdir -p "$out"
for d in "$src"/templates/*/; do
  [ -f "$d/manifest.json" ] || continue
  printf '{"template":"%s","data":%s}\n' "$(basename "$d")" "$(tr -d '\n' < "$d/sample.json")"
done > "$out/batch.jsonl"
keys=(--keys "$src/keys-example" --templates "$src/templates")
"$certctl" issue --batch "$out/batch.jsonl" --out-dir "$out/out" --format both --issued 2026-11-01 \
  --threads 2 --no-progress "${keys[@]}"
"$certctl" trust-bundle export --version 1 -o "$out/bundle.cose" "${keys[@]}"
