#!/bin/sh
# keys-example/make-bundle-key.sh — (re)creates the DEMO trust-bundle signing key with the openssl
# CLI: bundle/bundle.{key,crt}, ECDSA P-256, issued by the issuing CA ca/issuing-ca.{key,crt} (run
# make-keys.sh first); bundle.crt is a full chain: the bundle certificate, then the issuing CA's.
#
#   keys-example/make-bundle-key.sh [KEYS_DIR]     (default: the directory of this script)
#
# EXAMPLE KEY — NOT FOR PRODUCTION. Offline verifiers accept a trust bundle only when its signing
# certificate is issued by the pinned root through the issuing CA (docs/crl.md), carries the bundle-signer policy OID
# 2.25.173139380313850288678706241780509391059 (libcert/roles.h; UUID
# 82416e84-8a66-4d83-990d-bcfd55a538d3, ITU-T X.667) AND its public key is pinned in the
# verifier's configuration (docs/qr.md "Trust bundle: who may sign it"). This script writes the
# pin, the SHA-256 of the certificate's SubjectPublicKeyInfo, to bundle/pins.txt (one per line:
# the current key and, during a rollover, the next one).
# A key of its own (not a seal key, not a CA): the bundle is published often, by a service, while
# the root stays offline; keyUsage digitalSignature only. Fixed validity 2025-01-01 ..
# 2035-12-31 (openssl ca -startdate/-enddate) keeps tests stable.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
keys=${1:-$here}
mkdir -p "$keys/bundle"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
: > "$work/index.txt"
echo 2000 > "$work/serial"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = demo
[ demo ]
dir             = $work
database        = $work/index.txt
serial          = $work/serial
new_certs_dir   = $work
default_md      = sha256
policy          = any
unique_subject  = no
copy_extensions = none
utf8            = yes
string_mask     = utf8only
[ any ]
countryName      = optional
organizationName = optional
commonName       = supplied
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
CN = placeholder
[ v3_bundle ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
certificatePolicies    = 2.25.173139380313850288678706241780509391059
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF
umask 077
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
  -out "$keys/bundle/bundle.key"
openssl req -new -config "$work/ca.cnf" -key "$keys/bundle/bundle.key" \
  -subj "/C=CN/O=Ali Prefecture (EXAMPLE)/CN=Ali Trust Bundle Signer (EXAMPLE — NOT FOR PRODUCTION)" \
  -utf8 -out "$work/req.csr"
openssl ca -batch -config "$work/ca.cnf" -cert "$keys/ca/issuing-ca.crt" -keyfile "$keys/ca/issuing-ca.key" \
  -extensions v3_bundle -startdate 20250101000000Z -enddate 20351231235959Z -in "$work/req.csr" \
  -out "$work/out.pem" -notext 2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }
umask 022
cat "$work/out.pem" "$keys/ca/issuing-ca.crt" > "$keys/bundle/bundle.crt"
chmod 0644 "$keys/bundle/bundle.crt"
pin=$(openssl x509 -in "$keys/bundle/bundle.crt" -noout -pubkey | openssl pkey -pubin -outform DER \
  | openssl dgst -sha256 -r | cut -d' ' -f1)
{
  echo "# SHA-256 of the SubjectPublicKeyInfo of each trust-bundle signer a verifier accepts"
  echo "# (current key first; add the next key here BEFORE the service switches to it)."
  echo "$pin  bundle/bundle.crt (EXAMPLE)"
} > "$keys/bundle/pins.txt"
echo "bundle key: $keys/bundle/bundle.{key,crt}, pin $pin in $keys/bundle/pins.txt"
