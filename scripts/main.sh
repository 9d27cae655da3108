#!/usr/bin/env bash
# The main job: install dependencies, build, and issue the sample licence of every template
# into out/ (PDFs, and the seal image). Run from anywhere; works on a fresh Debian 12 as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
BIN=build/release
mkdir -p out
for dir in templates/*/; do
  id=$(basename "$dir")
  [ -f "$dir/manifest.json" ] || continue
  "$BIN/certctl" render --template "$id" --data "$dir/sample.json" -o "out/$id.pdf"
  echo "main: out/$id.pdf ($(stat -c %s "out/$id.pdf") bytes)"
done
