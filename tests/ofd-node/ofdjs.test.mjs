// OFD licences rendered and checked by ofd.js@0.2.6 (npm, Apache-2.0, DLTech21 — nobody on this
// project wrote it) in headless Debian chromium through playwright-core (no browser download).
//
//   node ofdjs.test.mjs FILE.ofd...
//
// For every file: ofd.js parses and renders it (one page); its own seal checks must say the
// signer's SM2 signature is valid (signedInfo.VerifyRet) and the References digests match
// (digestCheck); the stamp is drawn where Signature.xml's StampAnnot puts it (the layout's seal
// square) within 0.5 mm; every character ofd.js draws (one SVG <text> per character: it ignores
// CGTransform and the embedded fonts, the browser draws with the installed family of the Font
// resource) starts within 0.5 mm of the position the layout gave it (TextObject Boundary + X/Y +
// DeltaX, i.e. the glyph origins of Renderer::layout, which interop_layout_test holds within
// 0.2 mm of the PDF); the QR's box is the layout's; and no Tibetan character is drawn on a
// dotted circle (a combining mark drawn alone and visible: its advance is then the dotted
// circle's, > 0). ofd.js draws each character of a TextCode as its own <text>, so shaped Tibetan
// reaches the page only through the writer's outline form (glyph outlines as paths, the text
// invisible with Alpha 0); this check holds the writer to it.
// ofd.js's digestCheck hashes every referenced file with its bundled SM3, which costs ~25 s of
// CPU per licence (about 16 KB/s: the Tibetan outline paths make Content.xml ~400 KB) — 95% of
// this script's time for 24 files. The digests depend on the bytes, not on the template, and
// sesverify.mjs checks every file's References with sm-crypto's SM3 before this script runs; so by
// default ofd.js's own digestCheck runs on the first file of each page size (PhysicalBox) and
// every other check on every file. OFDJS_DIGEST=all runs it on every file
// (bench/ofd_render_all.sh).
// Exit 0 if every check of every file passed. CHROMIUM overrides /usr/bin/chromium; SHOTS_DIR,
// if set, receives a screenshot of every page.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { DOMParser } from '@xmldom/xmldom';
import JSZip from 'jszip';

const here = path.dirname(fileURLToPath(import.meta.url));
const OFDJS = path.join(here, 'node_modules/ofd.js/lib/ofd.umd.js');
const TOL_MM = 0.5;
const DIGEST_ALL = process.env.OFDJS_DIGEST === 'all';

let failures = 0;
function check(cond, what) {
  if (!cond) {
    console.log(`FAIL ${what}`);
    failures++;
  }
  return cond;
}

const num = (s) => (s || '').trim().split(/\s+/).filter((x) => x.length).map(Number);
const byLocal = (doc, name) => Array.from(doc.getElementsByTagNameNS('http://www.ofdspec.org/2016', name));

// What the layout says, read from the package: each character's origin (mm), the QR box, the
// stamp box.
async function expected(bytes) {
  const zip = await JSZip.loadAsync(bytes);
  const parse = async (n) => new DOMParser().parseFromString(await zip.file(n).async('string'), 'text/xml');
  const content = await parse('Doc_0/Pages/Page_0/Content.xml');
  const chars = [];
  for (const t of byLocal(content, 'TextObject')) {
    const [bx, by] = num(t.getAttribute('Boundary'));
    for (const code of byLocal(t, 'TextCode')) {
      let x = bx + Number(code.getAttribute('X')), y = by + Number(code.getAttribute('Y'));
      const dx = num(code.getAttribute('DeltaX')), dy = num(code.getAttribute('DeltaY'));
      const text = Array.from(code.textContent);
      text.forEach((ch, i) => {
        if (i > 0) { x += dx[i - 1] || 0; y += dy[i - 1] || 0; }
        chars.push({ ch, x, y, id: t.getAttribute('ID') });
      });
    }
  }
  const paths = byLocal(content, 'PathObject');
  const qr = num(paths[paths.length - 1].getAttribute('Boundary'));
  const sig = await parse('Doc_0/Signs/Sign_0/Signature.xml');
  const stamp = num(byLocal(sig, 'StampAnnot')[0].getAttribute('Boundary'));
  const page = num(byLocal(await parse('Doc_0/Document.xml'), 'PhysicalBox')[0].textContent);
  return { chars, qr, stamp, page };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  await page.setContent('<!doctype html><html><body style="margin:0"><div id="root"></div></body></html>');
  await page.addScriptTag({ path: OFDJS });
  const digested = new Set();  // page sizes whose file ofd.js's digestCheck has run on
  for (const file of process.argv.slice(2)) {
    const name = path.basename(file);
    const bytes = fs.readFileSync(file);
    const want = await expected(bytes);
    const size = want.page.join(' ');
    const digest = DIGEST_ALL || !digested.has(size);
    digested.add(size);
    const got = await page.evaluate(async ({ b64, pageWidthMm, digest }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const root = document.getElementById('root');
      root.innerHTML = '';
      const res = await new Promise((resolve, reject) =>
        window.ofd.parseOfdDocument({ ofd: bin.buffer, success: resolve, fail: reject }));
      const divs = window.ofd.renderOfd(1200, Array.isArray(res) ? res[0] : res);  // one document
      for (const d of divs) root.appendChild(d);
      await new Promise((r) => setTimeout(r, 300));
      const pageDiv = root.firstElementChild;
      const pr = pageDiv.getBoundingClientRect();
      const pxPerMm = pr.width / pageWidthMm;
      const mm = (v, o) => (v - o) / pxPerMm;
      const texts = Array.from(pageDiv.querySelectorAll('svg text')).map((t) => {
        const svg = t.ownerSVGElement.getBoundingClientRect();
        return {
          ch: t.textContent,
          x: mm(svg.left + Number(t.getAttribute('x')), pr.left),
          y: mm(svg.top + Number(t.getAttribute('y')), pr.top),
          advance: t.getComputedTextLength() / pxPerMm,
          visible: Number(t.getAttribute('fill-opacity') ?? '1') > 0,
        };
      });
      const seals = Array.from(document.querySelectorAll('[name="seal_img_div"]')).map((d) => {
        const r = d.getBoundingClientRect();
        const info = JSON.parse(d.dataset.signedInfo);
        const list = (window.toBeChecked && window.toBeChecked.get(info.signatureID)) || null;
        return {
          box: [mm(r.left, pr.left), mm(r.top, pr.top), r.width / pxPerMm, r.height / pxPerMm],
          verifyRet: info.VerifyRet,
          listed: list !== null && list.length > 0,
          digest: list && digest ? window.ofd.digestCheck(list) : null,
        };
      });
      // The QR: the page's last path drawn in black (its svg box).
      const blacks = Array.from(pageDiv.querySelectorAll('svg path'))
        .filter((p) => /rgb\(0, 0, 0\)|#000000|black/.test(p.getAttribute('fill') || ''));
      const q = blacks.length ? blacks[blacks.length - 1].ownerSVGElement.getBoundingClientRect() : null;
      return {
        texts, seals,
        qr: q && [mm(q.left, pr.left), mm(q.top, pr.top), q.width / pxPerMm, q.height / pxPerMm],
      };
    }, { b64: bytes.toString('base64'), pageWidthMm: want.page[2], digest });

    if (process.env.SHOTS_DIR) {
      await page.locator('#root > div').first().screenshot({ path: path.join(process.env.SHOTS_DIR, `${name}.png`) });
    }
    const before = failures;
    // Seal checks by ofd.js.
    check(got.seals.length === 1, `${name}: ofd.js found ${got.seals.length} seal(s), want 1`);
    for (const s of got.seals) {
      check(s.verifyRet === true, `${name}: ofd.js signature check (VerifyRet) = ${s.verifyRet}`);
      check(s.listed, `${name}: ofd.js found no References to check`);
      if (digest) check(s.digest === true, `${name}: ofd.js digest check = ${s.digest}`);
      s.box.forEach((v, i) => check(Math.abs(v - want.stamp[i]) <= TOL_MM,
        `${name}: stamp box[${i}] ${v.toFixed(2)} mm, layout ${want.stamp[i]} mm`));
    }
    // QR box.
    check(got.qr !== null, `${name}: no QR path rendered`);
    if (got.qr) got.qr.forEach((v, i) => check(Math.abs(v - want.qr[i]) <= TOL_MM,
      `${name}: QR box[${i}] ${v.toFixed(2)} mm, layout ${want.qr[i]} mm`));
    // Every character where the layout put it. ofd.js drops some whitespace-only text, so a
    // drawn character is matched to the nearest layout character with the same text among the
    // neighbours of its place in file order.
    let far = 0, dotted = 0;
    let j = 0;
    for (const g of got.texts) {
      let best = null;
      for (let k = Math.max(0, j - 40); k < Math.min(want.chars.length, j + 40); k++) {
        const w = want.chars[k];
        if (w.ch !== g.ch) continue;
        const d = Math.hypot(g.x - w.x, g.y - w.y);
        if (!best || d < best.d) best = { d, k, w };
      }
      if (best) j = best.k + 1;
      if (!best || best.d > TOL_MM) {
        if (far++ < 5) console.log(`  ${name}: '${g.ch}' at ${g.x.toFixed(2)},${g.y.toFixed(2)} mm` +
          (best ? `; layout at ${best.w.x.toFixed(2)},${best.w.y.toFixed(2)}` : '; not in the layout'));
      }
      // A Tibetan combining mark (vowel sign, subjoined letter) drawn alone with an advance:
      // the browser's shaper put it on a dotted circle.
      const cp = g.ch.codePointAt(0);
      const mark = (cp >= 0x0F71 && cp <= 0x0F84) || (cp >= 0x0F8D && cp <= 0x0FBC);
      if (mark && g.visible && g.advance > 0.05) {
        if (dotted++ < 3) console.log(`  ${name}: U+${cp.toString(16).toUpperCase()} drawn alone on a dotted circle (advance ${g.advance.toFixed(2)} mm)`);
      }
    }
    const drawn = got.texts.filter((t) => t.ch.trim().length).length;
    const laid = want.chars.filter((c) => c.ch.trim().length).length;
    if (!check(drawn === laid, `${name}: ofd.js drew ${drawn} visible characters, the layout has ${laid}`)) {
      const count = new Map();
      for (const c of want.chars) count.set(c.ch, (count.get(c.ch) || 0) + 1);
      for (const t of got.texts) count.set(t.ch, (count.get(t.ch) || 0) - 1);
      console.log(`  ${name}: not drawn: ${JSON.stringify([...count].filter(([c, n]) => n > 0 && c.trim()))}`);
    }
    check(far === 0, `${name}: ${far} characters off their layout position by > ${TOL_MM} mm`);
    check(dotted === 0, `${name}: ${dotted} Tibetan marks drawn on dotted circles`);
    console.log(`${failures === before ? 'ok  ' : 'FAIL'} ${name}: ${got.texts.length} characters, seal ${JSON.stringify(got.seals.map((s) => [s.verifyRet, digest ? s.digest : 'not run']))}`);
  }
  console.log(`ofd.js digestCheck ran on ${DIGEST_ALL ? 'every file' : `one file per page size (${digested.size})`}`);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
