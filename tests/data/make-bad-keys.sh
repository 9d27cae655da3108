#!/bin/sh
# tests/data/make-bad-keys.sh OUT_DIR KEYS_EXAMPLE_DIR — negative key material for tests (openssl CLI).
#
# Writes into OUT_DIR (never committed):
#   other-root/root.{key,crt}     an unrelated root CA (same shape as keys-example's root)
#   unchained/seal.{key,crt}      a samr-like seal certificate issued by other-root (not chained to
#                                 the example root), valid 2025-01-01..2030-12-31
#   expired/seal.{key,crt}        a samr-like seal certificate issued by the EXAMPLE root but valid
#                                 only 2020-01-01..2021-12-31 (expired at any 2025+ signing time)
#   no-policy/seal.{key,crt}      the EXAMPLE root's samr seal of the old profile: plain USCC in
#                                 organizationIdentifier, no seal policy OID (role "none")
#   two-roles/seal.{key,crt}      seal AND bundle-signer policy OIDs in one certificate (one role
#                                 only, trust.md: refused as both)
# The seal certificates (unchained, expired) otherwise have the seal profile of keys-example
# (seal policy OID, organizationIdentifier NTRCN-<USCC>) so that each shows exactly one defect.
set -eu
out=$1
kx=$2
mkdir -p "$out/other-root" "$out/unchained" "$out/expired" "$out/no-policy" "$out/two-roles"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
: > "$work/index.txt"
echo 2000 > "$work/serial"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = demo
[ demo ]
database        = $work/index.txt
serial          = $work/serial
new_certs_dir   = $work
default_md      = sha256
policy          = any
unique_subject  = no
preserve        = yes
utf8            = yes
string_mask     = utf8only
[ any ]
countryName            = optional
stateOrProvinceName    = optional
localityName           = optional
organizationName       = optional
commonName             = supplied
organizationIdentifier = optional
[ req ]
distinguished_name = dn
prompt             = no
utf8               = yes
string_mask        = utf8only
[ dn ]
CN = placeholder
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage         = critical, keyCertSign, cRLSign
[ v3_seal ]
basicConstraints    = critical, CA:FALSE
keyUsage            = critical, digitalSignature, nonRepudiation
certificatePolicies = 2.25.157078614424240747290383494601942707531
[ v3_nopolicy ]
basicConstraints = critical, CA:FALSE
keyUsage         = critical, digitalSignature, nonRepudiation
[ v3_tworoles ]
basicConstraints    = critical, CA:FALSE
keyUsage            = critical, digitalSignature, nonRepudiation
certificatePolicies = 2.25.157078614424240747290383494601942707531, 2.25.173139380313850288678706241780509391059
CNF
newkey() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  chmod 0600 "$1"
}
# issue KEY SUBJ EXT START END OUT CA_CERT CA_KEY  (CA_CERT "selfsign" for a root)
issue() {
  openssl req -new -config "$work/ca.cnf" -utf8 -key "$1" -subj "$2" -out "$work/req.csr"
  if [ "$7" = selfsign ]; then
    set -- "$@" -selfsign -keyfile "$1"
  else
    set -- "$@" -cert "$7" -keyfile "$8"
  fi
  a1=$1 a3=$3 a4=$4 a5=$5 a6=$6
  shift 8
  openssl ca -batch -config "$work/ca.cnf" "$@" -extensions "$a3" -startdate "$a4" -enddate "$a5" \
    -in "$work/req.csr" -out "$a6" -notext 2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }
  : "$a1"
}
subj='/C=CN/ST=西藏自治区/L=阿里地区/O=阿里地区市场监督管理局/organizationIdentifier=NTRCN-115425000199003834/CN=阿里地区市场监督管理局'
old_subj='/C=CN/ST=西藏自治区/L=阿里地区/O=阿里地区市场监督管理局/organizationIdentifier=115425000199003834/CN=阿里地区市场监督管理局'
newkey "$out/other-root/root.key"
issue "$out/other-root/root.key" "/C=CN/O=Somebody Else/CN=Unrelated Root CA (TEST)" v3_root \
  20250101000000Z 20451231235959Z "$out/other-root/root.crt" selfsign -
newkey "$out/unchained/seal.key"
issue "$out/unchained/seal.key" "$subj" v3_seal 20250101000000Z 20301231235959Z \
  "$out/unchained/seal.crt" "$out/other-root/root.crt" "$out/other-root/root.key"
newkey "$out/expired/seal.key"
issue "$out/expired/seal.key" "$subj" v3_seal 20200101000000Z 20211231235959Z \
  "$out/expired/seal.crt" "$kx/root/root.crt" "$kx/root/root.key"
newkey "$out/no-policy/seal.key"
issue "$out/no-policy/seal.key" "$old_subj" v3_nopolicy 20250101000000Z 20301231235959Z \
  "$out/no-policy/seal.crt" "$kx/root/root.crt" "$kx/root/root.key"
newkey "$out/two-roles/seal.key"
issue "$out/two-roles/seal.key" "$subj" v3_tworoles 20250101000000Z 20301231235959Z \
  "$out/two-roles/seal.crt" "$kx/root/root.crt" "$kx/root/root.key"
