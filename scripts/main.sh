#!/usr/bin/env bash
# The main job: install dependencies, build (release), then issue one sealed licence of every
# template from its templates/<id>/sample.json into out/, and verify each one; then start certd on
# 127.0.0.1 with a SQLite registry and the example keys and do the same through its HTTP API
# (daemon/demo.sh), and stop it.
# Works on a fresh Debian 12 machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# git does not keep file modes: the demo private keys must not be readable by others.
find keys-example -name '*.key' -exec chmod 600 {} +
cmake --preset release >/dev/null
cmake --build --preset release
BIN=build/release
mkdir -p out
# The trust data for `certctl verify` (key states; without it the verdict is INDETERMINATE): the
# example trust bundle, signed by the pinned example bundle key (docs/qr.md).
"$BIN/certctl" trust-bundle export -o out/trust-bundle.cbor >/dev/null
n=0
for dir in templates/*/; do
  id=$(basename "$dir")
  [ -f "$dir/manifest.json" ] || continue
  "$BIN/certctl" issue --template "$id" --data "$dir/sample.json" -o "out/$id.pdf" >/dev/null
  verdict=$("$BIN/certctl" verify --bundle out/trust-bundle.cbor "out/$id.pdf" | sed -n 's/^Result: //p')
  printf 'main: out/%-48s %6d bytes  %s\n' "$id.pdf" "$(stat -c %s "out/$id.pdf")" "$verdict"
  n=$((n + 1))
done
"$BIN/certctl" seal-image --department samr --format svg -o out/seal-samr.svg
echo "main: issued and verified $n licences in out/ (seal picture: out/seal-samr.svg)"
bash daemon/demo.sh "$BIN"
