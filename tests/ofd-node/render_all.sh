#!/usr/bin/env bash
# ctest entry (ofd_render_all): all 24 templates issued as OFD by `certctl issue --batch --format
# ofd`, then each file checked by tools nobody on this project wrote:
#   sesverify.mjs (npm-only: References, dataHash, signer and maker SM2 signatures, certList,
#   Seal.esl) and ofdjs.test.mjs (ofd.js 0.2.6 in headless chromium: its signature and digest
#   checks, stamp/QR/character positions against the layout within 0.5 mm; its SM3 digestCheck on
#   one file per page size unless OFDJS_DIGEST=all, see ofdjs.test.mjs).
# Installs the npm packages from the committed package-lock.json on the first run.
#   render_all.sh CERTCTL SOURCE_DIR
set -euo pipefail
certctl=$1
src=$2
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "chromium is not installed (scripts/deps.sh)"; exit 1; }
exec 9>".npm-ci.lock"
flock 9
[ -d node_modules/ofd.js ] && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
flock -u 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for d in "$src"/templates/*/; do
  [ -f "$d/sample.json" ] || continue
  printf '{"template":"%s","data":%s}\n' "$(basename "$d")" "$(tr -d '\n' < "$d/sample.json")"
done > "$work/batch.jsonl"
"$certctl" issue --batch "$work/batch.jsonl" --out-dir "$work/out" --format ofd --issued 2026-11-01 \
  --threads 2 --no-progress --keys "$src/keys-example" --templates "$src/templates"
files=("$work"/out/*.ofd)
[ "${#files[@]}" -eq 24 ] || { echo "expected 24 OFDs, got ${#files[@]}"; exit 1; }
fail=0
node sesverify.mjs "${files[@]}" > "$work/ses.log" 2>&1 || { echo "sesverify FAILED:"; grep -v '^ok ' "$work/ses.log"; fail=1; }
echo "sesverify: ${#files[@]} files checked"
node ofdjs.test.mjs "${files[@]}" || fail=1
exit $fail
