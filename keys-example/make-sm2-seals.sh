#!/bin/sh
# keys-example/make-sm2-seals.sh — makes the DEMO seal files (GB/T 38540 v4 SES_Seal, .esl) of the
# SM2 seals that make-sm2-keys.sh created: sm2/seals/<dept>/seal.esl for every department there,
# signed by the demo seal maker (sm2/maker) with `certctl ses make-seal` (defaults: the
# department's seal picture at its diameter in mm, validity = the seal certificate's, creation
# date = the start of validity, so the files are reproducible up to the maker's SM2 signature).
# The OFD writer (libcert/ofd_writer.h OfdSealKeyring) seals with <dept>/seal.key + seal.esl.
#
#   keys-example/make-sm2-seals.sh CERTCTL [TEMPLATES_DIR]
#
# EXAMPLE SEALS — NOT FOR PRODUCTION: a real seal file comes from the authorised seal maker.
set -eu
certctl=$1
here=$(cd "$(dirname "$0")" && pwd)
templates=${2:-$here/../templates}
for d in "$here"/sm2/seals/*/; do
  dept=$(basename "$d")
  "$certctl" ses make-seal --department "$dept" --keys "$here" --templates "$templates" \
    -o "$d/seal.esl"
done
