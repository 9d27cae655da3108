#!/bin/sh
# keys-example/make-bundle-key.sh — (re)creates the DEMO trust-bundle signing key with the openssl
# CLI: bundle/bundle.{key,crt}, ECDSA P-256, issued by root/root.{key,crt} (run make-keys.sh first).
#
#   keys-example/make-bundle-key.sh [KEYS_DIR]     (default: the directory of this script)
#
# EXAMPLE KEY — NOT FOR PRODUCTION. Offline QR verifiers pin the root and accept a trust bundle
# only when its signing certificate is issued by that root (docs/qr.md "Trust bundle format").
# A key of its own (not a seal key, not the root): the bundle is published often, by a service,
# while the root stays offline; keyUsage digitalSignature only. Fixed validity 2025-01-01 ..
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
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF
umask 077
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
  -out "$keys/bundle/bundle.key"
openssl req -new -config "$work/ca.cnf" -key "$keys/bundle/bundle.key" \
  -subj "/C=CN/O=Ali Prefecture (EXAMPLE)/CN=Ali Trust Bundle Signer (EXAMPLE — NOT FOR PRODUCTION)" \
  -utf8 -out "$work/req.csr"
openssl ca -batch -config "$work/ca.cnf" -cert "$keys/root/root.crt" -keyfile "$keys/root/root.key" \
  -extensions v3_bundle -startdate 20250101000000Z -enddate 20351231235959Z -in "$work/req.csr" \
  -out "$work/out.pem" -notext 2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }
umask 022
cp "$work/out.pem" "$keys/bundle/bundle.crt"
chmod 0644 "$keys/bundle/bundle.crt"
echo "bundle key: $keys/bundle/bundle.{key,crt}"
