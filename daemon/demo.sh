#!/usr/bin/env bash
# certd demo (part of the main job): starts certd on 127.0.0.1 with a fresh SQLite registry and
# keys-example, creates one demo API key per department with certctl, issues one licence of each
# template through the HTTP API, verifies every PDF and every QR text through the API, prints where
# the PDFs are, and stops certd. (The public verify rate limit is raised for this one client.) Usage: daemon/demo.sh [BUILD_DIR] (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release}
OUT=out/certd
rm -rf "$OUT"
mkdir -p "$OUT"
DB=$OUT/registry.db

# git does not keep file modes, and certd refuses private keys others may read.
find keys-example -name '*.key' -exec chmod 600 {} +
CERTD_VERIFY_PER_MINUTE=100000 "$BIN/daemon/certd" --store "$DB" --listen 127.0.0.1 --port 0 --port-file "$OUT/port" \
  --templates templates --keys keys-example --web daemon/web --seal-key-dir "$OUT/seal-keys" \
  2>"$OUT/certd.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$OUT/port" ] && break; sleep 0.1; done
[ -s "$OUT/port" ] || { echo "certd did not start:"; cat "$OUT/certd.log"; exit 1; }
URL="http://127.0.0.1:$(cat "$OUT/port")"
echo "certd: listening on $URL (registry $DB, log $OUT/certd.log)"
# The demo runs on the example keys: certd logs, and every issuance answer carries, this notice.
grep -o 'EXAMPLE KEYS[^"]*' "$OUT/certd.log" | head -1 | sed 's/^/certd: /' || true

declare -A KEY
ok=0 failed=0
for dir in templates/*/; do
  tmpl=$(basename "$dir")
  [ -f "$dir/manifest.json" ] && [ -f "$dir/sample.json" ] || continue
  dept=$(jq -r .department "$dir/manifest.json")
  if [ -z "${KEY[$dept]:-}" ]; then
    KEY[$dept]=$("$BIN/certctl" keys create --store "$DB" --department "$dept" \
                 --label "demo" --templates templates 2>/dev/null)
  fi
  body=$(jq -n --arg t "$tmpl" --slurpfile d "$dir/sample.json" '{template: $t, data: $d[0]}')
  resp=$(curl -sS -X POST "$URL/v1/licences" -H "Authorization: Bearer ${KEY[$dept]}" \
         -H "Idempotency-Key: demo-$tmpl" -H "Content-Type: application/json" -d "$body" \
         -w '\n%{http_code}')
  code=${resp##*$'\n'}
  json=${resp%$'\n'*}
  if [ "$code" != 201 ]; then
    echo "certd: $tmpl: issuing failed ($code): $(echo "$json" | jq -r .detail)"
    failed=$((failed + 1))
    continue
  fi
  id=$(echo "$json" | jq -r .id)
  qr=$(echo "$json" | jq -r .qr_text)
  curl -sS -o "$OUT/$tmpl.pdf" -H "Authorization: Bearer ${KEY[$dept]}" "$URL/v1/licences/$id/pdf"
  pdf_result=$(curl -sS -X POST "$URL/v1/verify" -H "Content-Type: application/pdf" \
               --data-binary "@$OUT/$tmpl.pdf" | jq -r .result)
  qr_result=$(curl -sS -X POST "$URL/v1/verify" -H "Content-Type: application/json" \
              -d "$(jq -n --arg q "$qr" '{qr: $q}')" | jq -r .result)
  echo "certd: $tmpl ($dept) -> $id"
  echo "       PDF $OUT/$tmpl.pdf ($(stat -c %s "$OUT/$tmpl.pdf") bytes), verify: PDF $pdf_result, QR $qr_result"
  echo "       QR / inspector URL: $qr"
  echo "       the inspector's page on this certd: $URL/V#${qr#*#}"
  if [ "$pdf_result" = VALID ] && [ "$qr_result" = VALID ]; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
done
curl -sS -H "Authorization: Bearer $("$BIN/certctl" keys create --store "$DB" --admin --scopes metrics:read --label metrics 2>/dev/null)" "$URL/metrics" | grep '^certd_licences_issued_total' | sed 's/^/certd: /' || true
echo "certd: $ok licences issued and verified VALID through the API, $failed failed; PDFs in $OUT/"
[ "$failed" -eq 0 ]
