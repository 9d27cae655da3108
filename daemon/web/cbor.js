// cbor.js — a strict decoder for the deterministic CBOR of docs/qr.md (RFC 8949 §4.2.1: shortest
// heads, definite lengths, map keys in bytewise order of their encodings, no duplicates). Anything
// else is refused, as libcert's decoder does, so the page and `certctl verify-qr` accept exactly
// the same payloads.
//
//   import { decode, CborError } from './cbor.js';
//   const v = decode(bytes);   // Uint8Array -> value; throws CborError with the rule broken
//
// Values: unsigned/negative integers as Number when safe, else BigInt; byte strings as
// Uint8Array; text as string; arrays as Array; maps as Map (keys decoded, insertion = wire order);
// tags as {tag, value}; simple values false/true/null.

export class CborError extends Error {}

const MAX_DEPTH = 16;
const MAX_ITEMS = 100000;

export function decode(bytes, limits = {}) {
  const st = { b: bytes, i: 0, items: 0, maxDepth: limits.maxDepth ?? MAX_DEPTH,
               maxItems: limits.maxItems ?? MAX_ITEMS };
  const v = item(st, 0);
  if (st.i !== bytes.length) throw new CborError(`${bytes.length - st.i} trailing byte(s) after the item`);
  return v;
}

function need(st, n) {
  if (st.i + n > st.b.length) throw new CborError('truncated item');
}

// Reads the argument of a head with additional info `ai`, enforcing the shortest form.
function arg(st, ai) {
  if (ai < 24) return ai;
  const sizes = { 24: 1, 25: 2, 26: 4, 27: 8 };
  const n = sizes[ai];
  if (n === undefined) throw new CborError(ai === 31 ? 'indefinite length is not deterministic' : `reserved additional info ${ai}`);
  need(st, n);
  let v = 0n;
  for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(st.b[st.i + k]);
  st.i += n;
  const min = { 1: 24n, 2: 0x100n, 4: 0x10000n, 8: 0x100000000n }[n];
  if (v < min) throw new CborError('integer or length not in its shortest form');
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function len(st, ai) {
  const n = arg(st, ai);
  if (typeof n !== 'number') throw new CborError('length too large');
  return n;
}

function cmpBytes(a, b) {
  // RFC 8949 §4.2.1: keys sorted by the bytewise lexicographic order of their encodings.
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return a.length - b.length;
}

function item(st, depth) {
  if (depth > st.maxDepth) throw new CborError('nesting too deep');
  if (++st.items > st.maxItems) throw new CborError('too many items');
  need(st, 1);
  const ib = st.b[st.i++];
  const major = ib >> 5, ai = ib & 31;
  switch (major) {
    case 0: return arg(st, ai);
    case 1: {
      const n = arg(st, ai);
      return typeof n === 'number' ? -1 - n : -1n - n;
    }
    case 2: {
      const n = len(st, ai);
      need(st, n);
      const out = st.b.slice(st.i, st.i + n);
      st.i += n;
      return out;
    }
    case 3: {
      const n = len(st, ai);
      need(st, n);
      let s;
      try {
        s = new TextDecoder('utf-8', { fatal: true }).decode(st.b.subarray(st.i, st.i + n));
      } catch (e) {
        throw new CborError('text string is not valid UTF-8');
      }
      st.i += n;
      return s;
    }
    case 4: {
      const n = len(st, ai);
      const a = [];
      for (let k = 0; k < n; k++) a.push(item(st, depth + 1));
      return a;
    }
    case 5: {
      const n = len(st, ai);
      const m = new Map();
      let prev = null;
      for (let k = 0; k < n; k++) {
        const start = st.i;
        const key = item(st, depth + 1);
        const enc = st.b.subarray(start, st.i);
        if (prev !== null) {
          const c = cmpBytes(prev, enc);
          if (c === 0) throw new CborError('duplicate map key');
          if (c > 0) throw new CborError('map keys not in deterministic order');
        }
        prev = enc;
        const mk = key instanceof Uint8Array ? 'b:' + Array.from(key).join(',') : key;
        m.set(mk, item(st, depth + 1));
      }
      return m;
    }
    case 6: {
      const tag = arg(st, ai);
      return { tag, value: item(st, depth + 1) };
    }
    case 7:
      if (ai === 20) return false;
      if (ai === 21) return true;
      if (ai === 22) return null;
      throw new CborError(`simple value or float (${ai}) not allowed`);
  }
  throw new CborError('unreachable');
}

// Encodes the few shapes the COSE Sig_structure needs (RFC 9052 §4.4): arrays, text, bytes.
export function encodeSigStructure(protectedBytes, payload) {
  const parts = [];
  const head = (major, n) => {
    if (n < 24) parts.push(Uint8Array.of((major << 5) | n));
    else if (n < 0x100) parts.push(Uint8Array.of((major << 5) | 24, n));
    else if (n < 0x10000) parts.push(Uint8Array.of((major << 5) | 25, n >> 8, n & 255));
    else parts.push(Uint8Array.of((major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255));
  };
  head(4, 4);
  const ctx = new TextEncoder().encode('Signature1');
  head(3, ctx.length); parts.push(ctx);
  head(2, protectedBytes.length); parts.push(protectedBytes);
  head(2, 0);
  head(2, payload.length); parts.push(payload);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
