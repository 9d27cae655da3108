#!/bin/sh
# keys-example/make-sm2-keys.sh — regenerates the DEMO SM2 PKI for OFD seals (GB/T 38540) with the
# openssl CLI only. A file of its own, beside make-keys.sh (the ECDSA/PAdES PKI), so the two can
# change independently.
#
#   keys-example/make-sm2-keys.sh [OUT_DIR]     (default: the directory of this script)
#
# EXAMPLE KEYS — NOT FOR PRODUCTION. The private keys below are published in the repository. A real
# seal is made by the authorised seal maker (制章者) of the national/provincial e-seal system and
# signed in certified crypto hardware.
#
# Creates (every key SM2 on the SM2 curve, every certificate SM2-with-SM3, 1.2.156.10197.1.501):
#   sm2/root.{key,crt}              "Ali SM2 Seal Root CA (EXAMPLE — NOT FOR PRODUCTION)", CA:TRUE,
#                                   keyCertSign+cRLSign, 2025-01-01..2045-12-31
#   sm2/maker/maker.{key,crt}       the seal maker (制章者): certificatePolicies = the seal-maker
#                                   policy OID (libcert/roles.h kSealMakerPolicyOid), keyUsage
#                                   digitalSignature+nonRepudiation, 2025-01-01..2035-12-31. It signs
#                                   SES_SealInfo (the .esl seal files), nothing else.
#   sm2/seals/<dept>/seal.{key,crt} one per department of templates/departments.json, the same
#                                   profile as the PAdES seals (seal policy OID, subject
#                                   organizationIdentifier=NTRCN-<USCC>), 2025-01-01..2030-12-31
#
# THE DISTINGUISHING ID. GM/T 0009 / GB/T 35276 fix the default SM2 user ID "1234567812345678";
# OpenSSL 3.0 does NOT apply it by itself (it hashes an empty ID into Z). Every signature made or
# checked here therefore passes it explicitly: -sigopt distid:... when signing (CSRs, certificates)
# and -vfyopt distid:... when `openssl ca` checks a CSR. A certificate made without it verifies
# nowhere else (docs/ofd.md "Pitfalls").
set -eu

seal_oid=2.25.157078614424240747290383494601942707531   # roles.h kSealPolicyOid
maker_oid=2.25.172183917136531997335682161863073287103  # roles.h kSealMakerPolicyOid
distid=1234567812345678

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
repo=$(cd "$here/.." && pwd)
depts="$repo/templates/departments.json"
d="$out/sm2"

mkdir -p "$d/maker" "$d/seals"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
: > "$work/index.txt"
echo 3000 > "$work/serial"

cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = demo
[ demo ]
dir              = $work
database         = $work/index.txt
serial           = $work/serial
new_certs_dir    = $work
default_md       = sm3
policy           = any
unique_subject   = no
copy_extensions  = none
preserve         = yes
email_in_dn      = no
utf8             = yes
string_mask      = utf8only
name_opt         = multiline,utf8
[ any ]
countryName            = optional
stateOrProvinceName    = optional
localityName           = optional
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied
organizationIdentifier = optional
[ req ]
distinguished_name = dn
string_mask        = utf8only
utf8               = yes
prompt             = no
[ dn ]
CN = placeholder
[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_maker ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = $maker_oid
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_seal ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = $seal_oid
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF

# issue KEY SUBJ EXT START END OUTCERT [selfsign]
issue() {
  openssl req -new -config "$work/ca.cnf" -utf8 -key "$1" -subj "$2" -sm3 \
    -sigopt "distid:$distid" -out "$work/req.csr"
  if [ "${7:-}" = selfsign ]; then
    signer="-selfsign -keyfile $1"
  else
    signer="-cert $d/root.crt -keyfile $d/root.key"
  fi
  # shellcheck disable=SC2086  # $signer is two options with paths without spaces
  openssl ca -batch -config "$work/ca.cnf" $signer -md sm3 -sigopt "distid:$distid" \
    -vfyopt "distid:$distid" -extensions "$3" -startdate "$4" -enddate "$5" \
    -in "$work/req.csr" -out "$work/out.pem" -notext 2>"$work/ca.log" \
    || { cat "$work/ca.log" >&2; exit 1; }
  umask 022
  cp "$work/out.pem" "$6"
  chmod 0644 "$6"
  umask 077
}

newkey() {  # newkey OUT
  openssl genpkey -algorithm SM2 -out "$1"
  chmod 0600 "$1"
}

# --- root ---------------------------------------------------------------------------------------
newkey "$d/root.key"
issue "$d/root.key" "/C=CN/O=Ali Prefecture (EXAMPLE)/CN=Ali SM2 Seal Root CA (EXAMPLE — NOT FOR PRODUCTION)" \
  v3_root 20250101000000Z 20451231235959Z "$d/root.crt" selfsign

# --- seal maker -----------------------------------------------------------------------------------
newkey "$d/maker/maker.key"
issue "$d/maker/maker.key" "/C=CN/ST=西藏自治区/L=阿里地区/O=Ali Prefecture (EXAMPLE)/CN=Ali Seal Maker (EXAMPLE — NOT FOR PRODUCTION)" \
  v3_maker 20250101000000Z 20351231235959Z "$d/maker/maker.crt"

# --- one seal per department ----------------------------------------------------------------------
grep -E '^[[:space:]]*"(id|name_zh|uscc)":' "$depts" \
  | sed -E 's/^[[:space:]]*"([a-z_]+)":[[:space:]]*"([^"]*)".*/\1 \2/' > "$work/depts.txt"
count=0
while read -r key value; do
  case "$key" in
    id) id=$value ;;
    name_zh) name=$value ;;
    uscc)
      (umask 022 && mkdir -p "$d/seals/$id")
      newkey "$d/seals/$id/seal.key"
      issue "$d/seals/$id/seal.key" \
        "/C=CN/ST=西藏自治区/L=阿里地区/O=$name/organizationIdentifier=NTRCN-$value/CN=$name" \
        v3_seal 20250101000000Z 20301231235959Z "$d/seals/$id/seal.crt"
      count=$((count + 1)) ;;
  esac
done < "$work/depts.txt"
[ "$count" -gt 0 ] || { echo "no departments found in $depts" >&2; exit 1; }

# Self-check with the ID: every certificate chains to the SM2 root.
for c in "$d/maker/maker.crt" "$d"/seals/*/seal.crt; do
  openssl verify -CAfile "$d/root.crt" -vfyopt "distid:$distid" "$c" >/dev/null
done
echo "keys-example: SM2 root, seal maker and $count SM2 seals written to $d" >&2
