#!/usr/bin/env bash
# bench/make_batch.sh N [TEMPLATES_DIR] — N issuance requests as JSON Lines for
# `certctl issue --batch`: the 24 templates' sample data in turn, each with its own serial
# (26 + 8 digits), so every line is a distinct licence.
set -euo pipefail
n=${1:?usage: make_batch.sh N [TEMPLATES_DIR]}
dir=${2:-$(cd "$(dirname "$0")/.." && pwd)/templates}
for s in "$dir"/*/sample.json; do
  jq -c --arg t "$(basename "$(dirname "$s")")" '{template: $t, data: .}' "$s"
done | jq -c -s --argjson n "$n" \
  'range(0; $n) as $i | .[$i % length] + {serial: ("26" + ("0000000" + ($i + 1 | tostring))[-8:])}'
