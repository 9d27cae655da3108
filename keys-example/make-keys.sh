#!/bin/sh
# keys-example/make-keys.sh — regenerates the DEMO PKI of libcert with the openssl CLI only.
#
#   keys-example/make-keys.sh [OUT_DIR]     (default: the directory of this script)
#
# EXAMPLE KEYS — NOT FOR PRODUCTION. The private keys below are published in the repository; a
# real deployment generates its seal keys in an HSM and never commits them.
#
# Creates:
#   root/root.{key,crt}            "Ali Seal Root CA (EXAMPLE — NOT FOR PRODUCTION)", ECDSA P-256,
#                                  CA:TRUE, keyUsage keyCertSign+cRLSign, 2025-01-01..2045-12-31;
#                                  OFFLINE: it certifies the issuing CA and nothing else
#   ca/issuing-ca.{key,crt}        "Ali Seal Issuing CA (EXAMPLE — NOT FOR PRODUCTION)", issued by the
#                                  root: CA:TRUE pathlen 0, keyUsage keyCertSign+cRLSign,
#                                  certificatePolicies = the issuing-CA policy, 2025-01-01..2040-12-31;
#                                  ONLINE (certd): certifies seal, TSA and bundle-signer
#                                  certificates and signs CRLs (trust.md "Roles", RFC 5280 §4.2.1.9)
#   seals/<dept>/seal.{key,crt}    one per department of templates/departments.json: ECDSA P-256,
#                                  subject C=CN, ST=西藏自治区, L=阿里地区, O=CN=<Chinese name>,
#                                  organizationIdentifier=NTRCN-<USCC> (UTF8String; ETSI EN 319
#                                  412-1 §5.1.4), certificatePolicies = the seal policy OID,
#                                  keyUsage (critical) digitalSignature+nonRepudiation, NO
#                                  extendedKeyUsage (NSS only accepts an EKU that contains
#                                  emailProtection), 2025-01-01..2030-12-31
#   tsa/tsa.{key,crt}              time-stamping unit: EKU timeStamping (critical, RFC 3161 §2.3)
#   Every leaf .crt (seal, TSA) holds the leaf certificate FOLLOWED BY the issuing CA's (the chain
#   a signer sends in its CMS certificates, RFC 5652 §5.1; the root, the anchor, is not included).
#   audit/audit.{key,pub}          Ed25519 key for signed audit-log checkpoints
#
# Fixed validity dates come from `openssl ca -startdate/-enddate` (OpenSSL 3.0 has no
# `x509 -not_before`), so tests that sign "now = 2025-06-01" are stable until the keys are remade.
set -eu

# The seal policy OID (libcert/roles.h kSealPolicyOid): 2.25.<UUID 762c3d9f-72f8-4f54-b150-e78bee3b2d4b
# as an integer> (ITU-T X.667). A verifier accepts a PDF or QR seal only from a certificate with it.
seal_oid=2.25.157078614424240747290383494601942707531
# The issuing-CA policy OID (libcert/roles.h kIssuingCaPolicyOid), UUID 96caef47-9b6c-4aa3-8aee-946b4794ff3d.
ca_oid=2.25.200437896502357320361310496017018584893

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
repo=$(cd "$here/.." && pwd)
depts="$repo/templates/departments.json"

mkdir -p "$out/root" "$out/ca" "$out/seals" "$out/tsa" "$out/audit"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
: > "$work/index.txt"
echo 1000 > "$work/serial"

cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = demo
[ demo ]
dir              = $work
database         = $work/index.txt
serial           = $work/serial
new_certs_dir    = $work
default_md       = sha256
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
serialNumber           = optional
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
[ v3_issuing_ca ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
certificatePolicies    = $ca_oid
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_seal ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
certificatePolicies    = $seal_oid
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_tsa ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF

# issue KEY SUBJ EXT START END OUTCERT selfsign|root|ca
#   selfsign: the root itself; root: issued by the offline root (only the issuing CA);
#   ca: issued by the issuing CA, written as leaf + issuing CA certificate (the chain to send).
issue() {
  openssl req -new -config "$work/ca.cnf" -utf8 -key "$1" -subj "$2" -out "$work/req.csr"
  case "$7" in
    selfsign) set -- "$@" -selfsign -keyfile "$1" ;;
    root) set -- "$@" -cert "$out/root/root.crt" -keyfile "$out/root/root.key" ;;
    ca) set -- "$@" -cert "$work/issuing-ca.pem" -keyfile "$out/ca/issuing-ca.key" ;;
    *) echo "issue: unknown signer $7" >&2; exit 1 ;;
  esac
  ext=$3 start=$4 end=$5 dest=$6 by=$7
  shift 7  # "$@" is now the signer's options
  openssl ca -batch -config "$work/ca.cnf" "$@" -extensions "$ext" \
    -startdate "$start" -enddate "$end" -in "$work/req.csr" -out "$work/out.pem" -notext 2>"$work/ca.log" \
    || { cat "$work/ca.log" >&2; exit 1; }
  umask 022
  if [ "$by" = ca ]; then
    cat "$work/out.pem" "$work/issuing-ca.pem" > "$dest"
  else
    cp "$work/out.pem" "$dest"
  fi
  chmod 0644 "$dest"
  umask 077
}

newkey() {  # newkey OUT
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
    -out "$1"
  chmod 0600 "$1"
}

# --- root ---------------------------------------------------------------------------------------
newkey "$out/root/root.key"
issue "$out/root/root.key" "/C=CN/O=Ali Prefecture (EXAMPLE)/CN=Ali Seal Root CA (EXAMPLE — NOT FOR PRODUCTION)" \
  v3_root 20250101000000Z 20451231235959Z "$out/root/root.crt" selfsign

# --- issuing CA (the only certificate the root signs) ---------------------------------------------
newkey "$out/ca/issuing-ca.key"
issue "$out/ca/issuing-ca.key" "/C=CN/O=Ali Prefecture (EXAMPLE)/CN=Ali Seal Issuing CA (EXAMPLE — NOT FOR PRODUCTION)" \
  v3_issuing_ca 20250101000000Z 20401231235959Z "$out/ca/issuing-ca.crt" root
cp "$out/ca/issuing-ca.crt" "$work/issuing-ca.pem"

# --- one seal per department ----------------------------------------------------------------------
# departments.json has one "id", "name_zh" and "uscc" line per department, in that order.
grep -E '^[[:space:]]*"(id|name_zh|uscc)":' "$depts" \
  | sed -E 's/^[[:space:]]*"([a-z_]+)":[[:space:]]*"([^"]*)".*/\1 \2/' > "$work/depts.txt"
count=0
while read -r key value; do
  case "$key" in
    id) id=$value ;;
    name_zh) name=$value ;;
    uscc)
      (umask 022 && mkdir -p "$out/seals/$id")
      newkey "$out/seals/$id/seal.key"
      issue "$out/seals/$id/seal.key" \
        "/C=CN/ST=西藏自治区/L=阿里地区/O=$name/organizationIdentifier=NTRCN-$value/CN=$name" \
        v3_seal 20250101000000Z 20301231235959Z "$out/seals/$id/seal.crt" ca
      count=$((count + 1)) ;;
  esac
done < "$work/depts.txt"
[ "$count" -gt 0 ] || { echo "no departments found in $depts" >&2; exit 1; }

# --- TSA and audit ----------------------------------------------------------------------------------
newkey "$out/tsa/tsa.key"
issue "$out/tsa/tsa.key" "/C=CN/O=Ali Prefecture (EXAMPLE)/CN=Ali Time-Stamping Unit (EXAMPLE — NOT FOR PRODUCTION)" \
  v3_tsa 20250101000000Z 20351231235959Z "$out/tsa/tsa.crt" ca

openssl genpkey -algorithm ED25519 -out "$out/audit/audit.key"
chmod 0600 "$out/audit/audit.key"
umask 022
openssl pkey -in "$out/audit/audit.key" -pubout -out "$out/audit/audit.pub"

echo "keys-example: root, issuing CA, $count seals, TSA and audit key written to $out" >&2
