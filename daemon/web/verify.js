// verify.js — offline verification of a licence QR payload in the browser (docs/qr.md "Verifier
// behaviour"), the same rules and the same order as libcert::verify_qr (libcert/qr_payload.h), so
// the page and `certctl verify-qr` give the same verdict for the same payload and bundle
// (tests/browser/inspector.test.mjs checks that on a shared set of payloads).
//
//   import { parseBundle, verifyText, verifyDigits } from './verify.js';
//   const bundle = await parseBundle(bundleBytes, { rootSha256, signerPins });   // pins.js
//   const v = await verifyDigits(location.hash.slice(1), bundle, Date.now() / 1000);
//   v.verdict: 'VALID' | 'INVALID' | 'REVOKED' | 'EXPIRED' | 'UNKNOWN-SIGNER' | 'INDETERMINATE'
//   v.check:   the failing check's id ('' for VALID): structure, url-prefix, kid, signature,
//              issuer-binding, signing-time, key-state, status, expiry (docs/verdicts.md,
//              libcert/qr_payload.h QrVerdict)
//
// Cryptography is WebCrypto only: ECDSA P-256 with SHA-256 (ES256, RFC 9053 §2.1; WebCrypto takes
// the raw r‖s signature that COSE carries), SHA-256 for kids, DecompressionStream('deflate') for
// the zlib (RFC 1950) status lists. parseBundle() throws BundleError; verify*() never throw: every
// failure is a verdict.

import { decode, encodeSigStructure, CborError } from './cbor.js';

export class BundleError extends Error {}

const TAG_SIGN1 = 18;          // RFC 9052 §4.2
const ALG_ES256 = -7;          // RFC 9053 §2.1
const HDR_ALG = 1, HDR_KID = 4, HDR_X5CHAIN = 33;  // RFC 9052 §3.1, RFC 9360 §2
const CWT_ISS = 1, CWT_EXP = 4, CWT_IAT = 6, LICENCE_CLAIM = -65537;  // RFC 8392 §3.1
const MAX_TEXT = 4096, MAX_PAYLOAD = 1024;   // libcert kQrMaxText, kQrMaxPayload
// libcert payload_limits(): a QR payload is small; anything with more items is malformed.
const QR_LIMITS = { maxItems: 64 };
const BUNDLE_FORMAT = 'libcert-trust-bundle/1';
const ID_ROOT = '1.2.156.3005.2.';
const ECDSA_SHA256 = '2a8648ce3d040302';     // OID 1.2.840.10045.4.3.2 (DER body)
const STATES = ['pending', 'active', 'retired', 'revoked'];
const DEFAULT_CLOCK_SKEW = 300, MAX_CLOCK_SKEW = 86400;  // libcert BundlePolicy
const MAX_STATUS_BITS = 1 << 24;                         // libcert StatusList::kMaxBits
// floor(n/2) of the P-256 group order (SEC 2 §2.4.2): an ECDSA s above it is the malleated
// "high-S" twin of a signature our signers never emit (libcert cose::normalise_low_s).
const P256_HALF_N = new Uint8Array([
  0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8]);

// True when s (bytes 32..63 of r‖s) <= n/2: big-endian, so byte order is numeric order.
export function isLowS(sig) {
  for (let i = 0; i < 32; i++) {
    if (sig[32 + i] !== P256_HALF_N[i]) return sig[32 + i] < P256_HALF_N[i];
  }
  return true;
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}
export async function sha256Hex(bytes) {
  return hex(await sha256(bytes));
}

// SHA-256 (FIPS 180-4 §6.2) in JS, synchronous: for the kid index only (1,203 certificates of
// ~706 B on the scale registry). One WebCrypto digest per certificate cost ~75 ms of main-thread
// JS plus a round trip to WebCrypto's thread each and their garbage (bench/README.md, session 8);
// this is ~35 ms for all of them. Signatures and the file's digest stay with WebCrypto.
const SHA256_K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
function sha256Sync(data) {
  const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = data.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[len] = 0x80;
  const bits = len * 8;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, Math.floor(bits / 0x100000000));
  dv.setUint32(padded.length - 4, bits >>> 0);
  const W = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let t = 0; t < 16; t++) W[t] = dv.getUint32(off + 4 * t);
    for (let t = 16; t < 64; t++) {
      const a = W[t - 15], b = W[t - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + SHA256_K[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, H[i]);
  return out;
}

// ---- text forms (qr.md "Text and symbol") ----

const DIGITS_FOR = [0, 3, 5, 8, 10, 13, 15];  // digits of a final block of k bytes

export function digitsDecode(digits) {
  const rem = digits.length % 17;
  let lastK = 0;
  let ok = rem === 0;
  for (let k = 1; k < DIGITS_FOR.length; k++) if (DIGITS_FOR[k] === rem) { lastK = k; ok = true; }
  if (!ok) throw new CborError(`digit string of length ${digits.length}: final block of ${rem} digits is not 3,5,8,10,13 or 15`);
  const out = [];
  for (let i = 0; i < digits.length;) {
    const nd = Math.min(17, digits.length - i);
    const k = nd === 17 ? 7 : lastK;
    const block = digits.slice(i, i + nd);
    if (!/^[0-9]+$/.test(block)) throw new CborError(`non-digit character in the fragment near ${i}`);
    let v = BigInt(block);
    if (v >> BigInt(8 * k) !== 0n) throw new CborError(`digit block at ${i} exceeds the range of ${k} bytes`);
    const bytes = [];
    for (let j = 0; j < k; j++) { bytes.unshift(Number(v & 255n)); v >>= 8n; }
    out.push(...bytes);
    i += nd;
  }
  return new Uint8Array(out);
}

export function digitsEncode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 7) {
    const k = Math.min(7, bytes.length - i);
    let v = 0n;
    for (let j = 0; j < k; j++) v = (v << 8n) | BigInt(bytes[i + j]);
    s += v.toString().padStart(k === 7 ? 17 : DIGITS_FOR[k], '0');
  }
  return s;
}

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
function base45Decode(t) {
  if (t.length % 3 === 1) throw new CborError(`Base45 length ${t.length} is impossible (RFC 9285 §4)`);
  const val = (i) => {
    const p = B45.indexOf(t[i]);
    if (p < 0) throw new CborError(`Base45: invalid character at ${i}`);
    return p;
  };
  const out = [];
  for (let i = 0; i < t.length; i += 3) {
    if (i + 2 < t.length) {
      const n = val(i) + val(i + 1) * 45 + val(i + 2) * 2025;
      if (n > 0xffff) throw new CborError(`Base45: triple at ${i} exceeds 65535`);
      out.push(n >> 8, n & 255);
    } else {
      const n = val(i) + val(i + 1) * 45;
      if (n > 0xff) throw new CborError('Base45: final pair exceeds 255');
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

// libcert::qr_payload_from_text: scanner quirks (QR-Code: prefix, lower case, whitespace).
export function payloadFromText(raw) {
  return scanText(raw).payload;
}

// The payload and, for the URL form, the text before the digits ('HTTPS://HOST/V#' as scanned),
// which the bundle's URL policy must list.
function scanText(raw) {
  if (raw.length > MAX_TEXT) throw new CborError(`QR text of ${raw.length} bytes exceeds ${MAX_TEXT}`);
  const trim = (s) => s.replace(/^[ \t\r\n\0]+|[ \t\r\n\0]+$/g, '');
  let t = trim(raw);
  if (t.slice(0, 8).toUpperCase() === 'QR-CODE:') t = trim(t.slice(8));
  let payload, urlPrefix = '';
  if (t.slice(0, 4).toUpperCase() === 'LC1:') {
    payload = base45Decode(t.slice(4));
  } else if (t.slice(0, 8).toUpperCase() === 'HTTPS://') {
    const hash = t.indexOf('#');
    if (hash < 0) throw new CborError("URL has no '#' fragment holding the payload");
    const before = t.slice(8, hash);
    if (before.length < 3 || before.slice(-2).toUpperCase() !== '/V') throw new CborError('URL path is not /V');
    if (!/^[A-Za-z0-9.:-]*$/.test(before.slice(0, -2))) throw new CborError('URL host has a character outside [A-Za-z0-9.-:]');
    urlPrefix = t.slice(0, hash + 1);
    payload = digitsDecode(t.slice(hash + 1));
  } else {
    throw new CborError('text is neither HTTPS://HOST/V#<digits> nor LC1:<Base45>');
  }
  if (payload.length > MAX_PAYLOAD) throw new CborError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  return { payload, urlPrefix };
}

// ---- COSE_Sign1 ----

function parseSign1(bytes, limits = {}) {
  const top = decode(bytes, limits);
  if (!top || typeof top !== 'object' || top.tag !== TAG_SIGN1) throw new CborError('COSE_Sign1: not tagged 18 (COSE_Sign1, RFC 9052 §4.2)');
  const a = top.value;
  if (!Array.isArray(a) || a.length !== 4) throw new CborError('COSE_Sign1: expected an array of 4 elements');
  if (!(a[0] instanceof Uint8Array)) throw new CborError('COSE_Sign1: protected header is not a byte string');
  if (!(a[1] instanceof Map)) throw new CborError('COSE_Sign1: unprotected header is not a map');
  if (!(a[2] instanceof Uint8Array)) throw new CborError('COSE_Sign1: payload is not a byte string (detached?)');
  if (!(a[3] instanceof Uint8Array)) throw new CborError('COSE_Sign1: signature is not a byte string');
  const prot = decode(a[0]);
  if (!(prot instanceof Map)) throw new CborError('COSE_Sign1: protected header is not a map');
  const alg = prot.get(HDR_ALG), kid = prot.get(HDR_KID);
  if (typeof alg !== 'number') throw new CborError('COSE_Sign1: protected header lacks an integer alg (1)');
  if (!(kid instanceof Uint8Array) || kid.length !== 8) throw new CborError('COSE_Sign1: protected header lacks an 8-byte kid (4)');
  if (prot.size !== 2) throw new CborError('COSE_Sign1: protected header holds more than alg and kid');
  if (a[3].length !== 64) throw new CborError('COSE_Sign1: signature is not 64 bytes (ES256 r||s)');
  return { protectedBytes: a[0], unprotected: a[1], payload: a[2], signature: a[3], alg, kid };
}

async function verifyEs256(s, key) {
  if (s.alg !== ALG_ES256 || s.signature.length !== 64) return false;
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, s.signature,
                              encodeSigStructure(s.protectedBytes, s.payload));
}

// ---- X.509, just enough: TBS bytes, validity, SPKI, signature (RFC 5280 §4.1) ----

function der(b, i) {
  if (i + 2 > b.length) throw new BundleError('certificate: truncated DER');
  const tag = b[i];
  let len = b[i + 1], p = i + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3) throw new BundleError('certificate: unsupported DER length');
    len = 0;
    for (let k = 0; k < n; k++) len = (len << 8) | b[p + k];
    p += n;
  }
  if (p + len > b.length) throw new BundleError('certificate: DER length beyond the data');
  return { tag, start: i, body: p, end: p + len };
}
function children(b, node) {
  const out = [];
  for (let i = node.body; i < node.end;) { const c = der(b, i); out.push(c); i = c.end; }
  return out;
}
function derTime(b, n) {
  const s = new TextDecoder().decode(b.subarray(n.body, n.end));
  let m;
  if (n.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = +m[1];
    return Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }
  if (n.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  }
  throw new BundleError('certificate: unreadable validity time');
}
function ecdsaDerToRaw(b) {
  const seq = der(b, 0);
  const [r, s] = children(b, seq);
  const fix = (n) => {
    let v = b.subarray(n.body, n.end);
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) throw new BundleError('certificate: ECDSA value longer than 32 bytes');
    const o = new Uint8Array(32); o.set(v, 32 - v.length); return o;
  };
  const out = new Uint8Array(64); out.set(fix(r), 0); out.set(fix(s), 32); return out;
}
export function parseCert(b) {
  const cert = der(b, 0);
  const [tbs, sigAlg, sigVal] = children(b, cert);
  const t = children(b, tbs);
  const off = t[0].tag === 0xa0 ? 1 : 0;   // [0] EXPLICIT version
  const validity = children(b, t[off + 3]);
  const spki = t[off + 5];
  const algOid = children(b, sigAlg)[0];
  return {
    tbs: b.subarray(tbs.start, tbs.end),
    notBefore: derTime(b, validity[0]),
    notAfter: derTime(b, validity[1]),
    spki: b.subarray(spki.start, spki.end),
    sigAlg: hex(b.subarray(algOid.body, algOid.end)),
    signature: b.subarray(sigVal.body + 1, sigVal.end),   // BIT STRING: skip the unused-bits byte
  };
}
async function importKey(spki) {
  return crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

// zlib (RFC 1950) inflation of a status list to exactly `bytes` bytes. Read chunk by chunk and
// stopped as soon as the output exceeds `bytes` (libcert StatusList::from_compressed refuses to
// inflate more either): a list cannot make the page allocate more than its declared size.
async function inflate(zlib, bytes) {
  const ds = new DecompressionStream('deflate');   // 'deflate' = the zlib format, RFC 1950
  const reader = new Blob([zlib]).stream().pipeThrough(ds).getReader();
  const out = new Uint8Array(bytes);
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > bytes) {
        throw new BundleError(`status list inflates to more than ${bytes} bytes, expected ${bytes}`);
      }
      out.set(value, n);
      n += value.length;
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e instanceof BundleError ? e : new BundleError('status list is not a zlib stream: ' + e.message);
  }
  if (n !== bytes) throw new BundleError(`status list inflates to ${n} bytes, expected ${bytes}`);
  return out;
}

// ---- the trust bundle (libcert/trust_bundle.h) ----

// DER of the bundle-signer certificate policy OID 2.25.173139380313850288678706241780509391059
// (libcert/roles.h, docs/signing.md "Trust model").
const BUNDLE_SIGNER_POLICY = new Uint8Array([0x06, 0x14, 0x69, 0x82, 0x84, 0xc1, 0xb7, 0xa1, 0x91,
  0xa6, 0xb2, 0xb6, 0x87, 0x99, 0x86, 0xef, 0x9f, 0xd5, 0xad, 0x94, 0xf1, 0x53]);
// The issuing CA's role (trust.md "Roles", docs/crl.md): basicConstraints critical CA:TRUE with
// pathLenConstraint 0, keyUsage critical keyCertSign + cRLSign, the issuing-CA policy OID
// 2.25.200437896502357320361310496017018584893 — as DER, the encodings make-keys.sh writes.
const ISSUING_CA_BC = new Uint8Array([0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x08,
  0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]);
const ISSUING_CA_KU = new Uint8Array([0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04,
  0x03, 0x02, 0x01, 0x06]);
const ISSUING_CA_POLICY = new Uint8Array([0x06, 0x14, 0x69, 0x82, 0xad, 0xca, 0xf7, 0xd1, 0xf3,
  0xb6, 0xe2, 0xaa, 0xc7, 0x8a, 0xf7, 0xa5, 0x8d, 0xb4, 0xbc, 0xd3, 0xfe, 0x3d]);
function contains(hay, needle) {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

// Verifies the bundle file against the verifier's pins (trust.md "Roles"; the page gets them
// from /web/pins.js, delivered with its code): `pins.rootSha256` (hex SHA-256 of the root
// certificate DER) and `pins.signerPins` (hex SHA-256 of each accepted bundle-signer
// SubjectPublicKeyInfo: current and next key). The signing certificate's key must be pinned and
// the certificate must carry the bundle-signer policy, BEFORE anything else of the bundle is
// believed: a bundle signed by another key under the root (a seal, the TSA) is refused, so a rogue
// version number never reaches the rollback check. Then: issued by the root, directly or through
// the issuing CA that x5chain carries after it (checked for its role), the COSE signature
// verifies, the bundle's root is the pinned root. No pins: refused (fail closed).
// Returns {version, issuedAt, rootDer, seals, statusLists, policy, sha256}.
export async function parseBundle(file, pins) {
  let s, body;
  try {
    s = parseSign1(file);
    body = decode(s.payload);
  } catch (e) {
    throw new BundleError('trust bundle: invalid or non-canonical CBOR: ' + e.message);
  }
  if (s.alg !== ALG_ES256) throw new BundleError(`trust bundle: algorithm ${s.alg} is not ES256`);
  // x5chain (RFC 9360 §2): the signer's certificate, or [signer, issuing CA] (leaf first).
  const x5 = s.unprotected.get(HDR_X5CHAIN);
  const x5ok = x5 instanceof Uint8Array ||
    (Array.isArray(x5) && x5.length === 2 && x5.every((c) => c instanceof Uint8Array));
  if (s.unprotected.size !== 1 || !x5ok) {
    throw new BundleError('trust bundle: unprotected header must hold exactly the x5chain (33)');
  }
  const bundleCertDer = x5 instanceof Uint8Array ? x5 : x5[0];
  const caDer = x5 instanceof Uint8Array ? null : x5[1];
  if (!eq((await sha256(bundleCertDer)).subarray(0, 8), s.kid)) throw new BundleError('trust bundle: kid does not match the x5chain certificate');
  if (!(body instanceof Map) || body.get(1) !== BUNDLE_FORMAT) throw new BundleError('trust bundle: not ' + BUNDLE_FORMAT);
  const rootDer = body.get(4);
  if (!(rootDer instanceof Uint8Array)) throw new BundleError('trust bundle: root (4) missing');
  if (!pins || !Array.isArray(pins.signerPins) || pins.signerPins.length === 0 || !pins.rootSha256) {
    throw new BundleError('trust bundle: this verifier pins no bundle signer (refused)');
  }
  const bundleCert = parseCert(bundleCertDer);
  if (!pins.signerPins.includes(hex(await sha256(bundleCert.spki)))) {
    throw new BundleError('trust bundle: its signing key is not pinned (not a bundle signer of this service)');
  }
  if (!contains(bundleCert.tbs, BUNDLE_SIGNER_POLICY)) {
    throw new BundleError('trust bundle: its signing certificate lacks the bundle-signer policy');
  }
  if (hex(await sha256(rootDer)) !== pins.rootSha256) throw new BundleError('trust bundle: its root is not the pinned root');
  const root = parseCert(rootDer);
  if (bundleCert.sigAlg !== ECDSA_SHA256) throw new BundleError('trust bundle: signing certificate is not ecdsa-with-SHA256');
  const rootKey = await importKey(root.spki);
  // root -> [issuing CA ->] bundle signer: the CA must be in the issuing-CA role and issued by the
  // root, the signer issued by it (docs/crl.md).
  let issuerKey = rootKey;
  if (caDer) {
    const ca = parseCert(caDer);
    if (ca.sigAlg !== ECDSA_SHA256) throw new BundleError('trust bundle: issuing CA certificate is not ecdsa-with-SHA256');
    if (!contains(ca.tbs, ISSUING_CA_BC) || !contains(ca.tbs, ISSUING_CA_KU) || !contains(ca.tbs, ISSUING_CA_POLICY)) {
      throw new BundleError('trust bundle: the x5chain CA is not an issuing CA (CA:TRUE pathlen 0, keyCertSign + cRLSign, issuing-CA policy)');
    }
    const caIssued = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, rootKey,
                                                ecdsaDerToRaw(ca.signature), ca.tbs);
    if (!caIssued) throw new BundleError('trust bundle: issuing CA certificate is not issued by the root');
    issuerKey = await importKey(ca.spki);
  }
  const issued = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, issuerKey,
                                            ecdsaDerToRaw(bundleCert.signature), bundleCert.tbs);
  if (!issued) throw new BundleError('trust bundle: signing certificate is not issued by the root' + (caDer ? "'s issuing CA" : ''));
  if (!(await verifyEs256(s, await importKey(bundleCert.spki)))) throw new BundleError('trust bundle: signature does not verify');
  const version = body.get(2), issuedAt = body.get(3);
  if (typeof version !== 'number' || typeof issuedAt !== 'number') throw new BundleError('trust bundle: version/issued_at missing');
  if (issuedAt < bundleCert.notBefore || issuedAt > bundleCert.notAfter) {
    throw new BundleError("trust bundle: issued_at lies outside the signing certificate's validity");
  }
  // Store time ends here for the seals (once per bundle file; libcert's TrustBundle::parse does
  // the same checks): each entry's state and certificate fields are read (the DER walked in JS,
  // a malformed certificate refuses the bundle as before) and its kid — SHA-256 of the DER, first
  // 8 bytes — goes into an index, so a verification looks its candidates up instead of scanning
  // the seal versions. The keys are not imported here: sealKey() imports only the candidates of a
  // QR's kid, once (bench/README.md "The inspector page over throttled 3G": importing all 1,203
  // keys and inflating all 401 status lists made the first verdict take 13-93 s on the scale
  // registry).
  const seals = (body.get(5) || []).map((sv) => {
    const certDer = sv.get(3);
    const c = parseCert(certDer);
    const state = STATES[sv.get(4)];
    if (!state) throw new BundleError('trust bundle: unknown seal state');
    return {
      department: sv.get(1), issuerCode: sv.get(2), certDer, state, spki: c.spki, key: undefined,
      kid: '', notBefore: c.notBefore, notAfter: c.notAfter,
      usageFrom: sv.get(5), usageUntil: sv.get(6), compromisedAt: sv.get(7),
    };
  });
  const kids = seals.map((x) => sha256Sync(x.certDer));
  const byKid = new Map();
  seals.forEach((x, i) => {
    x.kid = hex(kids[i].subarray(0, 8));
    if (!byKid.has(x.kid)) byKid.set(x.kid, []);
    byKid.get(x.kid).push(x);
  });
  // 7 policy {1: [URL prefix...], 2: clock skew s}; absent in older bundles (no URL accepted).
  const policy = { urlPrefixes: [], clockSkew: DEFAULT_CLOCK_SKEW };
  const pv = body.get(7);
  if (pv !== undefined) {
    const prefixes = pv instanceof Map ? pv.get(1) : undefined;
    const skew = pv instanceof Map ? pv.get(2) : undefined;
    if (!Array.isArray(prefixes) || !prefixes.every((u) => typeof u === 'string' && /^HTTPS:\/\/[A-Z0-9.:-]+\/V#$/.test(u)) ||
        !Number.isInteger(skew) || skew < 0 || skew > MAX_CLOCK_SKEW) {
      throw new BundleError('trust bundle: policy (7) is not {1: [HTTPS://HOST/V#...], 2: clock skew 0..86400}');
    }
    policy.urlPrefixes = prefixes;
    policy.clockSkew = skew;
  }
  // Status lists stay compressed until a QR of their issuer needs one (statusData()): 2^20 bits
  // are 128 KB inflated, 51 MB for 401 departments. Their size is checked now, as libcert does.
  const statusLists = new Map([...(body.get(6) || new Map())].map(([code, v]) => {
    const bits = v.get(1), zlib = v.get(2);
    if (!Number.isInteger(bits) || bits < 0 || bits > MAX_STATUS_BITS || !(zlib instanceof Uint8Array)) {
      throw new BundleError(`trust bundle: status list of ${code} is not {1: bits 0..${MAX_STATUS_BITS}, 2: zlib bytes}`);
    }
    return [code, { bits, zlib, data: undefined }];
  }));
  return { version, issuedAt, rootDer, seals, byKid, statusLists, policy, sha256: await sha256Hex(file) };
}

// The public key of a seal version, imported on its first use and kept with the entry (null when
// WebCrypto refuses the key: that candidate then verifies nothing, as before).
function sealKey(seal) {
  if (seal.key === undefined) seal.key = importKey(seal.spki).catch(() => null);
  return seal.key;
}

// The inflated bitstring of a status list, on its first use, kept with the list (a list that does
// not inflate to its size keeps its error).
function statusData(list) {
  if (list.data === undefined) list.data = inflate(list.zlib, Math.ceil(list.bits / 8));
  return list.data;
}

// ---- the QR claims (libcert claims_from) ----

function unpackTibetan(p) {
  let s = '';
  for (const b of p) s += String.fromCodePoint(0x0f00 + b);
  return s;
}

function claimsFrom(cwt) {
  const bad = (m) => { throw new CborError(m); };
  if (!(cwt instanceof Map)) bad('CWT claims are not a map');
  for (const k of cwt.keys()) {
    if (![CWT_ISS, CWT_EXP, CWT_IAT, LICENCE_CLAIM].includes(k)) bad('CWT: unexpected claim key');
  }
  const uint = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const iss = cwt.get(CWT_ISS), iat = cwt.get(CWT_IAT), exp = cwt.get(CWT_EXP), lic = cwt.get(LICENCE_CLAIM);
  if (typeof iss !== 'string') bad('CWT: iss (1) missing or not text');
  if (!uint(iat)) bad('CWT: iat (6) missing or not an unsigned integer');
  if (exp !== undefined && !uint(exp)) bad('CWT: exp (4) not an unsigned integer');
  if (!(lic instanceof Map)) bad('CWT: licence claim (-65537) missing or not a map');
  for (const k of lic.keys()) if (!(uint(k) && k >= 1 && k <= 10)) bad('licence map: unexpected key');
  const text = (k, name) => {
    const v = lic.get(k);
    if (typeof v !== 'string') bad(`licence map: ${name} (${k}) missing or not text`);
    return v;
  };
  const u32 = (k, name) => {
    const v = lic.get(k);
    if (!uint(v) || v > 0xffffffff) bad(`licence map: ${name} (${k}) missing or not a 32-bit unsigned integer`);
    return v;
  };
  const l = {};
  l.identifier = text(1, 'identifier');
  l.typeCode = text(2, 'type code');
  if (l.identifier.split('.').length === 3) l.identifier = `${ID_ROOT}${l.typeCode}.${iss}.${l.identifier}`;
  const hn = lic.get(3);
  if (hn instanceof Uint8Array) {
    if (hn.length === 0) bad('licence map: packed holder name (3) is empty');
    l.holderName = unpackTibetan(hn);
  } else {
    l.holderName = text(3, 'holder name');
  }
  l.holderCode = '';
  if (lic.has(4)) {
    l.holderCode = text(4, 'holder code');
    if (!l.holderCode) bad('licence map: holder code (4) is empty (omit it instead)');
  }
  l.title = text(5, 'title');
  l.issueDate = u32(6, 'issue date');
  l.areaCode = u32(7, 'area code');
  l.statusIndex = u32(8, 'status index');
  if (lic.has(9)) {
    const d = lic.get(9);
    if (!(d instanceof Uint8Array) || d.length !== 16) bad('licence map: digest (9) is not a 16-byte string');
  }
  if (lic.has(10)) {
    const n = lic.get(10);
    if (!uint(n) || n <= Array.from(l.holderName).length || n > 0xffffffff) bad('licence map: holder name length (10) is not larger than the name carried');
    l.holderNameChars = n;
  }
  return { issuer: iss, issuedAt: iat, expiresAt: exp, licence: l };
}

// ---- the verdict (libcert::verify_qr) ----

// Same checks, same order, same verdicts and check ids as libcert::verify_qr: structure →
// url-prefix → kid → signature → issuer-binding → signing-time → key-state → status → expiry.
// `urlPrefix`: the scanned text before the digits ('' when there is none: the app form, or the
// page's own fragment — the page's URL is wherever it was served from).
export async function verifyPayload(payload, bundle, now, urlPrefix = '') {
  const v = { verdict: 'INVALID', check: 'structure', reason: '', claims: null, signatureOk: false,
              kidHex: '', sealDepartment: '', statusChecked: false, bundleVersion: bundle.version,
              bundleIssuedAt: bundle.issuedAt, bundleAgeSeconds: Math.floor(now - bundle.issuedAt),
              proof: '' };
  const verdict = (word, check, reason) => Object.assign(v, { verdict: word, check, reason });
  let s, c;
  try {
    if (payload.length > MAX_PAYLOAD) throw new CborError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
    s = parseSign1(payload, QR_LIMITS);
    if (s.unprotected.size !== 0) throw new CborError('COSE_Sign1: unprotected header must be empty (nothing unauthenticated)');
    c = claimsFrom(decode(s.payload, QR_LIMITS));
  } catch (e) {
    return verdict('INVALID', 'structure', 'non-canonical or invalid CBOR: ' + e.message);
  }
  v.claims = c;
  v.kidHex = hex(s.kid);
  // The proof of possession certd asks for the preview (docs/service.md "Preview").
  v.proof = hex((await sha256(payload)).subarray(0, 16));
  const policy = bundle.policy || { urlPrefixes: [], clockSkew: DEFAULT_CLOCK_SKEW };
  if (urlPrefix) {
    if (policy.urlPrefixes.length === 0) return verdict('INDETERMINATE', 'url-prefix', `trust bundle version ${bundle.version} states no accepted URL prefix: cannot judge '${urlPrefix}'`);
    if (!policy.urlPrefixes.some((p) => p.toUpperCase() === urlPrefix.toUpperCase())) return verdict('INVALID', 'url-prefix', `URL prefix '${urlPrefix}' is not one the trust bundle's policy accepts`);
  }
  const candidates = bundle.byKid.get(v.kidHex) || [];
  if (candidates.length === 0) return verdict('UNKNOWN-SIGNER', 'kid', `no seal certificate with kid ${v.kidHex} in trust bundle version ${bundle.version}`);
  if (s.alg !== ALG_ES256) return verdict('INVALID', 'signature', `algorithm ${s.alg} is not allowed (ES256 only)`);
  // WebCrypto accepts both (r, s) and (r, n-s): refuse the high-S twin before verifying.
  if (!isLowS(s.signature)) return verdict('INVALID', 'signature', 'high-S ECDSA signature (s > n/2) refused: signers emit only low-S');
  let seal = null;
  for (const x of candidates) {
    const key = await sealKey(x);
    if (key && (await verifyEs256(s, key))) { seal = x; break; }
  }
  if (!seal) return verdict('INVALID', 'signature', `signature does not verify with the ${candidates.length} certificate(s) of kid ${v.kidHex}`);
  v.signatureOk = true;
  v.sealDepartment = seal.department;
  if (c.issuer !== seal.issuerCode) return verdict('INVALID', 'issuer-binding', `iss ${c.issuer} is not the seal's department code ${seal.issuerCode}`);
  if (c.issuedAt > now + policy.clockSkew) return verdict('INVALID', 'signing-time', `iat ${c.issuedAt} lies ${Math.floor(c.issuedAt - now)} s in the future (allowed clock skew ${policy.clockSkew} s)`);
  if (seal.state === 'pending') return verdict('INVALID', 'key-state', 'seal key is pending (never activated)');
  if (c.issuedAt < seal.notBefore || c.issuedAt > seal.notAfter) return verdict('INVALID', 'key-state', `iat ${c.issuedAt} is outside the seal certificate's validity`);
  if (c.issuedAt < seal.usageFrom || (seal.usageUntil !== undefined && c.issuedAt >= seal.usageUntil)) return verdict('INVALID', 'key-state', `iat ${c.issuedAt} is outside the seal key's usage window`);
  if (seal.state === 'revoked' && seal.compromisedAt !== undefined && c.issuedAt >= seal.compromisedAt) return verdict('REVOKED', 'key-state', `seal key revoked: compromised at ${seal.compromisedAt}`);
  // Fail closed: without a status list covering the index nothing says it is not revoked.
  const list = bundle.statusLists.get(c.issuer);
  if (!list) return verdict('INDETERMINATE', 'status', `trust bundle version ${bundle.version} has no status list for issuer ${c.issuer}`);
  const i = c.licence.statusIndex;
  if (i >= list.bits) return verdict('INDETERMINATE', 'status', `status index ${i} lies outside the issuer's status list of ${list.bits} bits`);
  let data;
  try {
    data = await statusData(list);
  } catch (e) {
    // Fail closed as for a missing list. (libcert refuses such a bundle as a whole; the page
    // inflates a list only when a QR needs it, so it finds the fault here.)
    return verdict('INDETERMINATE', 'status', `status list of issuer ${c.issuer} in trust bundle version ${bundle.version} is unreadable: ${e.message}`);
  }
  v.statusChecked = true;
  // Bit i is bit (7 - i % 8) of byte i / 8 (MSB first, libcert/status_list.h).
  if ((data[i >> 3] >> (7 - (i & 7))) & 1) return verdict('REVOKED', 'status', `licence revoked: status bit ${i} set in trust bundle version ${bundle.version}`);
  if (c.expiresAt !== undefined && now >= c.expiresAt) return verdict('EXPIRED', 'expiry', `licence expired at ${c.expiresAt}`);
  let note = '';
  if (v.bundleAgeSeconds > 30 * 86400) note = `status data is ${Math.floor(v.bundleAgeSeconds / 86400)} days old`;
  return verdict('VALID', '', note);
}

export async function verifyText(text, bundle, now) {
  let scanned;
  try {
    scanned = scanText(text);
  } catch (e) {
    return { verdict: 'INVALID', check: 'structure', reason: e.message, claims: null, signatureOk: false,
             bundleVersion: bundle.version, bundleIssuedAt: bundle.issuedAt,
             bundleAgeSeconds: Math.floor(now - bundle.issuedAt) };
  }
  return verifyPayload(scanned.payload, bundle, now, scanned.urlPrefix);
}

// The page's case: the digits of the URL fragment (location.hash without '#'). The page's own
// URL is not judged here: it is wherever the page was served from.
export async function verifyDigits(digits, bundle, now) {
  let payload;
  try {
    if (digits.length > MAX_TEXT) throw new CborError(`QR text of ${digits.length} bytes exceeds ${MAX_TEXT}`);
    payload = digitsDecode(digits);
  } catch (e) {
    return { verdict: 'INVALID', check: 'structure', reason: e.message, claims: null, signatureOk: false,
             bundleVersion: bundle.version, bundleIssuedAt: bundle.issuedAt,
             bundleAgeSeconds: Math.floor(now - bundle.issuedAt) };
  }
  return verifyPayload(payload, bundle, now);
}
