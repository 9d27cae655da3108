// An independent check of a GB/T 38540 v4 sealed OFD, built only from npm libraries nobody on this
// project wrote: jszip (ZIP), @xmldom/xmldom (XML), asn1js (DER), sm-crypto (SM2/SM3). It checks
// what ofd.js 0.2.6 skips (ofd-ses.md §2.2): for every listed signature, the References (SM3 of
// each file, base64), dataHash = SM3(Signature.xml), the signer's SM2 signature over DER(TBS_Sign)
// and the seal maker's over DER(SES_SealInfo) — both with the distinguishing ID 1234567812345678 —
// the signer certificate in the seal's list, and Seal.esl == the seal inside SignedValue.dat.
//
//   node sesverify.mjs FILE.ofd...         exit 0: every check of every file passed; 1: a check
//                                          failed (one line of results per file)
//   node sesverify.mjs --tamper FILE.ofd   also proves the checks can fail: a moved stamp, an
//                                          edited page and a flipped signature bit must each fail
import fs from 'node:fs';
import JSZip from 'jszip';
import { DOMParser } from '@xmldom/xmldom';
import * as asn1js from 'asn1js';
import smCrypto from 'sm-crypto';

const { sm2, sm3 } = smCrypto;
const USER_ID = '1234567812345678';

const hex = (u8) => Buffer.from(u8).toString('hex');
const sm3hex = (u8) => sm3(Array.from(u8));
const der = (u8) => {
  const r = asn1js.fromBER(new Uint8Array(u8).buffer);
  if (r.offset === -1) throw new Error('not DER: ' + r.result.error);
  return r.result;
};
const raw = (block) => new Uint8Array(block.valueBeforeDecodeView);
const kids = (block) => block.valueBlock.value;
const bits = (block) => new Uint8Array(block.valueBlock.valueHexView);
const octets = (block) => new Uint8Array(block.valueBlock.valueHexView);

// SubjectPublicKeyInfo's point of an X.509 certificate, hex "04...".
function publicKey(certDer) {
  const tbs = kids(kids(der(certDer))[0]);
  const off = tbs[0].idBlock.tagClass === 3 ? 1 : 0; // [0] version present
  const spki = tbs[off + 5];
  return hex(bits(kids(spki)[1]));
}
function sm2ok(msg, sigDer, certDer) {
  return sm2.doVerifySignature(Array.from(msg), hex(sigDer), publicKey(certDer),
    { der: true, hash: true, userId: USER_ID });
}
const byLocal = (node, name) => Array.from(node.getElementsByTagName('*')).filter((n) => n.localName === name);
const resolve = (loc, base) => {
  if (loc.startsWith('/')) return loc.slice(1);
  const dir = base.includes('/') ? base.slice(0, base.lastIndexOf('/') + 1) : '';
  return dir + loc;
};

async function verify(files) {
  const text = (n) => Buffer.from(files[n]).toString('utf8');
  const xml = (n) => new DOMParser().parseFromString(text(n), 'text/xml');
  const results = [];
  const ofd = xml('OFD.xml');
  const listPath = resolve(byLocal(ofd, 'Signatures')[0].textContent.trim(), 'OFD.xml');
  for (const s of byLocal(xml(listPath), 'Signature')) {
    const path = resolve(s.getAttribute('BaseLoc'), listPath);
    const sx = xml(path);
    const r = { signature: path };
    r.references = byLocal(sx, 'Reference').every((ref) => {
      const f = files[ref.getAttribute('FileRef').replace(/^\//, '')];
      const want = Buffer.from(byLocal(ref, 'CheckValue')[0].textContent.trim(), 'base64').toString('hex');
      return f !== undefined && sm3hex(f) === want;
    });
    const sv = der(files[resolve(byLocal(sx, 'SignedValue')[0].textContent.trim(), path)]);
    const [tbs, cert, , sig] = kids(sv);
    const [, eseal, , dataHash] = kids(tbs);
    r.dataHash = hex(bits(dataHash)) === sm3hex(files[path]);
    r.signerSignature = sm2ok(raw(tbs), bits(sig), octets(cert));
    const [sealInfo, makerCert, , makerSig] = kids(eseal);
    r.makerSignature = sm2ok(raw(sealInfo), bits(makerSig), octets(makerCert));
    const certList = kids(kids(sealInfo)[2])[3];
    r.certInSeal = kids(certList).some((c) => hex(octets(c)) === hex(octets(cert)));
    const sealLoc = byLocal(sx, 'BaseLoc')[0];
    r.sealEsl = !sealLoc || hex(files[resolve(sealLoc.textContent.trim(), path)]) === hex(raw(eseal));
    r.ok = r.references && r.dataHash && r.signerSignature && r.makerSignature && r.certInSeal && r.sealEsl;
    results.push(r);
  }
  return results;
}

async function load(path) {
  const zip = await JSZip.loadAsync(fs.readFileSync(path));
  const files = {};
  for (const [name, entry] of Object.entries(zip.files)) if (!entry.dir) files[name] = await entry.async('uint8array');
  return files;
}

const args = process.argv.slice(2);
const tamper = args[0] === '--tamper';
const paths = tamper ? args.slice(1, 2) : args;
let ok = paths.length > 0;
let files, res;
// One process for many files: node's start and the module loads cost more than a licence's checks.
for (const file of paths) {
  files = await load(file);
  res = await verify(files);
  const fileOk = res.length > 0 && res.every((r) => r.ok);
  console.log(`${fileOk ? 'ok  ' : 'FAIL'} ${file}: ${JSON.stringify(res)}`);
  ok = ok && fileOk;
}
if (ok && tamper) {
  const sig = res[0].signature;
  const cases = {
    'stamp moved (Signature.xml edited)': (f) => {
      f[sig] = Buffer.from(Buffer.from(f[sig]).toString('utf8').replace(/Boundary="[^"]*"/, 'Boundary="1 1 40 40"'));
    },
    'page content edited': (f) => {
      const page = Object.keys(f).find((n) => /Content\.xml$/.test(n));
      f[page] = Buffer.concat([Buffer.from(f[page]), Buffer.from(' ')]);
    },
    'signature bit flipped': (f) => {
      const svName = Object.keys(f).find((n) => n.startsWith(sig.replace('Signature.xml', '')) && n.endsWith('SignedValue.dat'));
      const b = Buffer.from(f[svName]);
      b[b.length - 5] ^= 1;
      f[svName] = b;
    },
  };
  for (const [name, edit] of Object.entries(cases)) {
    const copy = { ...files };
    edit(copy);
    let r;
    try { r = await verify(copy); } catch (e) { r = [{ ok: false, error: String(e) }]; }
    const refused = !r.every((x) => x.ok);
    console.log(`${name}: ${refused ? 'refused' : 'ACCEPTED'}`);
    ok = ok && refused;
  }
}
process.exit(ok ? 0 : 1);
