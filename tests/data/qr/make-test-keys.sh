#!/usr/bin/env bash
# Test keys for the QR payload / trust bundle tests, made by the openssl CLI (a third-party tool,
# so a bug in libcert's own key handling is not copied into its tests). TEST KEYS ONLY: committed
# on purpose, never used for anything but tests. Re-run to regenerate (kids change; nothing in
# the tests hard-codes a kid).
set -euo pipefail
cd "$(dirname "$0")"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
issue() {  # name subject ca [extensions]
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  local ext=()
  if [ -n "${4:-}" ]; then printf '%s\n' "$4" > "$1.ext"; ext=(-extfile "$1.ext"); fi
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 36500 -sha256 "${ext[@]}" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
# The trust-bundle signer role (libcert/roles.h kBundleSignerPolicyOid): pinned by the tests by
# the SHA-256 of its public key. "rogue" has the role too, under another root.
bundle_ext="keyUsage=critical,digitalSignature
certificatePolicies=2.25.173139380313850288678706241780509391059"
for r in root other-root; do
  key $r
  openssl req -new -x509 -key $r.key -subj "/C=CN/O=libcert test/CN=${r} CA" -days 36500 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out $r.crt
done
key seal;    issue seal    "/C=CN/O=Ali SAMR (test)/CN=samr seal v1" root
key seal2;   issue seal2   "/C=CN/O=Ali SAMR (test)/CN=samr seal v2" root
key unknown; issue unknown "/C=CN/O=Ali SAMR (test)/CN=samr seal not in any bundle" root
key bundle;  issue bundle  "/C=CN/O=libcert test/CN=trust bundle signer" root "$bundle_ext"
key rogue;   issue rogue   "/C=CN/O=attacker/CN=trust bundle signer" other-root "$bundle_ext"
