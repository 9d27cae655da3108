#!/usr/bin/env bash
# ctest entry (ofd_independent_check): seals an OFD with certctl — ofdrw's unsigned hello-world,
# first by samr, then by the approval bureau — and checks both seals with sesverify.mjs, which uses
# npm libraries only (no libcert code). Installs them from the committed package-lock.json on the
# first run.
#   run.sh CERTCTL SOURCE_DIR
set -euo pipefail
certctl=$1
src=$2
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
exec 9>".npm-ci.lock"
flock 9
[ -d node_modules/sm-crypto ] || npm ci --no-audit --no-fund --loglevel=error
flock -u 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
k=(--keys "$src/keys-example")
"$certctl" ses make-seal --department samr -o "$work/samr.esl" "${k[@]}" --templates "$src/templates"
"$certctl" ses make-seal --department approval -o "$work/approval.esl" "${k[@]}" --templates "$src/templates"
"$certctl" ses seal-ofd --department samr --seal "$work/samr.esl" --time 1764900000 \
  -o "$work/once.ofd" "${k[@]}" "$src/tests/data/ofd/ofdrw_helloworld.ofd"
"$certctl" ses seal-ofd --department approval --seal "$work/approval.esl" --time 1764903600 \
  --x 60 -o "$work/twice.ofd" "${k[@]}" "$work/once.ofd"
node sesverify.mjs --tamper "$work/once.ofd"
node sesverify.mjs "$work/twice.ofd"
# and the same files by our verifier: every cryptographic check passes (the document names no
# issuer and no trust data is given, so certctl's verdict is INDETERMINATE, exit 1)
"$certctl" verify "${k[@]}" --json "$work/twice.ofd" > "$work/report.json" || true
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const want = ["references","data-hash","signature","seal-signature","cert-in-seal","chain","maker-role","signer-role"];
let ok = r.signatures.length === 2;
for (const s of r.signatures) for (const id of want) {
  const c = s.checks.find((x) => x.id === id);
  if (!c || c.status !== "pass") { console.log("certctl:", s.field_name, id, c && c.status); ok = false; }
}
console.log("certctl verify:", r.result, ok ? "(every cryptographic check passed)" : "");
process.exit(ok ? 0 : 1);' "$work/report.json"
