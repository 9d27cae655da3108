#!/usr/bin/env bash
# The main job: install dependencies, build (release), then issue one sealed licence of every
# template from its templates/<id>/sample.json into out/, and verify each one; then start certd on
# 127.0.0.1 with a SQLite registry and the example keys and do the same through its HTTP API
# (daemon/demo.sh), and stop it.
# Works on a fresh Debian 12 machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the main job needs (build, fonts, the demo's jq/curl): scripts/deps.sh --main.
bash scripts/deps.sh --main
# git does not keep file modes: the demo private keys must not be readable by others.
find keys-example -name '*.key' -exec chmod 600 {} +
# No tests or benchmarks in the main job (their packages are the test command's).
cmake --preset release -DLIBCERT_BUILD_TESTS=OFF -DLIBCERT_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release
BIN=build/release
# certctl has no compiled-in source tree: the main job names the templates of this clone and asks
# for the demo keys by name (every output then says EXAMPLE KEYS — NOT VALID FOR REAL LICENCES).
export LIBCERT_TEMPLATES=$PWD/templates LIBCERT_EXAMPLE_KEYS=$PWD/keys-example
mkdir -p out
# The trust data for `certctl verify` (key states; without it the verdict is INDETERMINATE): the
# example trust bundle, signed by the pinned example bundle key (docs/qr.md).
"$BIN/certctl" trust-bundle export --example-keys -o out/trust-bundle.cbor >/dev/null
n=0
for dir in templates/*/; do
  id=$(basename "$dir")
  [ -f "$dir/manifest.json" ] || continue
  "$BIN/certctl" issue --example-keys --template "$id" --data "$dir/sample.json" -o "out/$id.pdf" \
    >/dev/null 2>"out/$id.log" || { cat "out/$id.log"; exit 1; }
  rm -f "out/$id.log"
  verdict=$("$BIN/certctl" verify --example-keys --bundle out/trust-bundle.cbor "out/$id.pdf" |
            sed -n 's/^Result: //p')
  printf 'main: out/%-48s %6d bytes  %s\n' "$id.pdf" "$(stat -c %s "out/$id.pdf")" "$verdict"
  n=$((n + 1))
done
"$BIN/certctl" seal-image --department samr --format svg -o out/seal-samr.svg
echo "main: issued and verified $n licences in out/ (seal picture: out/seal-samr.svg)"
echo "main: sealed with the demo keys: EXAMPLE KEYS — NOT VALID FOR REAL LICENCES"
bash daemon/demo.sh "$BIN"
