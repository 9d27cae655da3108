#!/usr/bin/env bash
# bench/peer.sh BUILD_DIR — side by side: our issuance against a common alternative pipeline on
# the same 24 sample licences. Theirs: HTML -> PDF with WeasyPrint (Debian `weasyprint`, the same
# fonts, our seal picture and QR as SVG) and `pdfsig -add-signature` (Poppler, NSS) for the
# seal signature (see below for the key); and HTML -> PDF with headless Debian chromium's page.pdf
# (puppeteer-core, bench/peer/chromium_render.mjs, the same HTML). Ours: render+seal in-process
# (issue_bench) and `certctl sign`.
# Prints a Markdown table per template (time and size, ratio ours/theirs) and a signing row.
# Render times are in-process medians for both; signing times are per process for both tools
# (each signs one file per run, start-up included).
set -euo pipefail
build=${1:?usage: peer.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
export LIBCERT_TEMPLATES=${LIBCERT_TEMPLATES:-$root/templates} LIBCERT_KEYS=${LIBCERT_KEYS:-$root/keys-example}
certctl=$build/certctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ids=$(for m in "$root"/templates/*/manifest.json; do basename "$(dirname "$m")"; done)
for id in $ids; do
  qr=$("$certctl" issue --template "$id" --data "$root/templates/$id/sample.json" \
         --issued 2026-11-01 --json -o "$work/$id.ours.pdf" | jq -r .qr_text)
  qrencode -t SVG -l Q -m 4 -o "$work/$id.qr.svg" "$qr"
done
for d in $(jq -r '.departments[].id' "$root/templates/departments.json"); do
  "$certctl" seal-image --department "$d" --format svg -o "$work/$d.seal.svg" >/dev/null
done
# WeasyPrint takes seconds per page: one timed run per template after one warm-up. Chromium
# (page.pdf through puppeteer-core, bench/peer/package.json): one browser, 3 timed runs per
# template after one warm-up. Rows: id, median ms, bytes, median CPU ms.
echo "== load average before the peers: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$root/bench/peer/weasy_render.py" "$root/templates" "$work" 1 > "$work/peer.tsv"
(cd "$root/bench/peer" && { [ -d node_modules/puppeteer-core ] || npm ci --no-audit --no-fund --loglevel=error; })
node "$root/bench/peer/chromium_render.mjs" "$root/templates" "$work" 3 > "$work/chromium.tsv"
"$build/bench/issue_bench" 5 | awk '$1 == "template" {print $2 "\t" $4 "\t" $3 "\t" $5}' > "$work/ours.tsv"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "| template | ours ms (CPU) | WeasyPrint ms (CPU) | Chromium page.pdf ms (CPU) | CPU ours/WeasyPrint | CPU ours/Chromium | ours bytes (sealed) | WeasyPrint bytes (unsigned) | Chromium bytes (unsigned) |"
echo "|---|---|---|---|---|---|---|---|---|"
join -t $'\t' <(sort "$work/ours.tsv") <(sort "$work/peer.tsv") | join -t $'\t' - <(sort "$work/chromium.tsv") |
  awk -F'\t' '{printf "| %s | %.2f (%.2f) | %.1f (%.1f) | %.1f (%.1f) | %.4f | %.4f | %d | %d | %d |\n", $1, $2, $4, $5, $7, $8, $10, $4/$7, $4/$10, $3, $6, $9;
               ow+=$2; oc+=$4; ob+=$3; ww+=$5; wc+=$7; wb+=$6; cw+=$8; cc+=$10; cb+=$9; n++}
              END {printf "| **all %d (mean)** | %.2f (%.2f) | %.1f (%.1f) | %.1f (%.1f) | **%.4f** (×%.0f) | **%.4f** (×%.0f) | %d | %d | %d |\n",
                   n, ow/n, oc/n, ww/n, wc/n, cw/n, cc/n, oc/wc, wc/oc, oc/cc, cc/oc, ob/n, wb/n, cb/n}'

# Signing: an NSS database for pdfsig. Poppler 22.12's `pdfsig -add-signature` fails with ECDSA
# keys ("signDocument: unable update signature") and rejects -etsi, and podofosign 0.9.8
# under-reserves the ECDSA CMS: the peer signs with an RSA-2048 key made here by the openssl CLI
# (adbe.pkcs7.detached); ours uses the P-256 seal key (ETSI.CAdES.detached).
nss=$work/nss
mkdir -p "$nss"
certutil -N -d "sql:$nss" --empty-password
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/peer.key" -out "$work/peer.crt" \
  -subj "/CN=peer benchmark seal (RSA, throwaway)" -days 2 2>/dev/null
openssl pkcs12 -export -inkey "$work/peer.key" -in "$work/peer.crt" -name seal -passout pass: \
  -out "$work/seal.p12"
pk12util -i "$work/seal.p12" -d "sql:$nss" -W '' >/dev/null
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
ours=() theirs=()
for id in $ids; do
  ours+=("$(ms "$certctl" sign --department samr "$work/$id.peer.pdf" -o "$work/$id.ours-signed.pdf")")
  theirs+=("$(ms pdfsig -add-signature -nssdir "sql:$nss" -nick seal -digest SHA256 \
              -new-signature-field-name Seal "$work/$id.peer.pdf" "$work/$id.pdfsig.pdf")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}") mt=$(median "${theirs[@]}")
valid=0
for id in $ids; do
  if pdfsig -nocert "$work/$id.pdfsig.pdf" 2>/dev/null | grep -q "Signature is Valid"; then
    valid=$((valid + 1))
  fi
done
echo
echo "| signing one PDF (a process per file, start-up included) | ours (certctl sign, P-256) | theirs (pdfsig -add-signature, RSA-2048) | ours/theirs |"
echo "|---|---|---|---|"
awk -v o="$mo" -v t="$mt" 'BEGIN {printf "| median of 24 WeasyPrint PDFs | %.1f ms | %.1f ms | %.3f |\n", o/1000, t/1000, o/t}'
echo
echo "pdfsig signatures that verify: $valid of $(echo "$ids" | wc -w)"
