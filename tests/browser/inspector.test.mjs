// End-to-end tests of the inspector's page (daemon/web/, issue 8) in headless Debian chromium,
// driven by playwright-core (the Debian binary; no browser download). Registered in ctest by
// tests/integration/CMakeLists.txt (label `browser`) through run.sh.
//
//   node inspector.test.mjs e2e         QR URL -> VALID with the right holder and the issuing
//                                       authority by name; then, in the same tab, a forged
//                                       fragment -> INVALID (both languages) with the previous
//                                       image and fields gone; its high-S twin -> INVALID
//                                       "signature"; revoked -> REVOKED; certd stopped and
//                                       page reloaded -> still VALID from the cache, bundle age
//                                       shown; phone-size screenshots (SHOTS_DIR, if set)
//   node inspector.test.mjs crosscheck  the page and `certctl verify-qr` on one set of payloads
//                                       (and one downloaded bundle) give the same verdicts
//
// Environment: CERTD_BIN, CERTCTL_BIN, LIBCERT_SOURCE_DIR (set by ctest), CHROMIUM (default
// /usr/bin/chromium), SHOTS_DIR (optional: where the screenshots go).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SRC = process.env.LIBCERT_SOURCE_DIR;
const CERTD = process.env.CERTD_BIN;
const CERTCTL = process.env.CERTCTL_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TEMPLATE = 'business-licence-enterprise';
const mode = process.argv[2] || 'e2e';

let failures = 0;
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}
function eq(a, b, what) { check(a === b, `${what}: ${JSON.stringify(a)}${a === b ? '' : ' != expected ' + JSON.stringify(b)}`); }

// ---- certd ----

// keys-example copied with its private keys at mode 0600 (git does not keep file modes, and
// certd refuses private keys others may read).
function privateKeys(dir) {
  const keys = path.join(dir, 'keys');
  fs.cpSync(path.join(SRC, 'keys-example'), keys, { recursive: true });
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.key')) fs.chmodSync(p, 0o600);
    }
  };
  walk(keys);
  return keys;
}

async function startCertd(dir) {
  const portFile = path.join(dir, 'port');
  const log = fs.openSync(path.join(dir, 'certd.log'), 'w');
  const proc = spawn(CERTD, ['--store', path.join(dir, 'registry.db'), '--listen', '127.0.0.1', '--port', '0',
    '--port-file', portFile, '--templates', path.join(SRC, 'templates'), '--keys', privateKeys(dir),
    '--web', path.join(SRC, 'daemon/web')],
  { env: { ...process.env, CERTD_VERIFY_PER_MINUTE: '100000' }, stdio: ['ignore', 'ignore', log] });
  for (let i = 0; i < 300 && !fs.existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!fs.existsSync(portFile)) throw new Error('certd did not start: ' + fs.readFileSync(path.join(dir, 'certd.log'), 'utf8'));
  const port = Number(fs.readFileSync(portFile, 'utf8').trim());
  const stop = () => new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
  });
  return { port, base: `http://127.0.0.1:${port}`, stop, store: path.join(dir, 'registry.db') };
}

function makeKey(certd, dept) {
  return execFileSync(CERTCTL, ['keys', 'create', '--store', certd.store, '--department', dept, '--label', 'browser-test'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

const sample = JSON.parse(fs.readFileSync(path.join(SRC, 'templates', TEMPLATE, 'sample.json'), 'utf8'));

async function issue(certd, key, idem) {
  const r = await fetch(certd.base + '/v1/licences', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + key, 'Idempotency-Key': idem, 'Content-Type': 'application/json' },
    body: JSON.stringify({ template: TEMPLATE, data: sample }),
  });
  if (r.status !== 201) throw new Error('issue: ' + r.status + ' ' + await r.text());
  return r.json();
}

async function revoke(certd, key, id) {
  const r = await fetch(`${certd.base}/v1/licences/${id}/revoke`, {
    method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'browser test' }),
  });
  if (r.status !== 200) throw new Error('revoke: ' + r.status);
}

// ---- the digits of qr.md (7 bytes -> 17 digits), to make tampered payloads ----

const DIGITS_FOR = [0, 3, 5, 8, 10, 13, 15];
function digitsDecode(d) {
  const rem = d.length % 17;
  const lastK = DIGITS_FOR.indexOf(rem);
  const out = [];
  for (let i = 0; i < d.length; i += 17) {
    const nd = Math.min(17, d.length - i);
    const k = nd === 17 ? 7 : lastK;
    let v = BigInt(d.slice(i, i + nd));
    const b = [];
    for (let j = 0; j < k; j++) { b.unshift(Number(v & 255n)); v >>= 8n; }
    out.push(...b);
  }
  return Uint8Array.from(out);
}
function digitsEncode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 7) {
    const k = Math.min(7, bytes.length - i);
    let v = 0n;
    for (let j = 0; j < k; j++) v = (v << 8n) | BigInt(bytes[i + j]);
    s += v.toString().padStart(k === 7 ? 17 : DIGITS_FOR[k], '0');
  }
  return s;
}
const fragment = (qr) => qr.slice(qr.indexOf('#') + 1);
function flip(digits, at) {   // at < 0: from the end
  const b = digitsDecode(digits);
  const i = at < 0 ? b.length + at : at;
  b[i] ^= 0x01;
  return digitsEncode(b);
}
// The same payload with s replaced by n - s (P-256 order): the malleated twin of the genuine
// ES256 signature, which is the last 64 bytes of the COSE_Sign1 (r || s).
const P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;
function highS(digits) {
  const b = digitsDecode(digits);
  const at = b.length - 32;
  let s = 0n;
  for (let i = at; i < b.length; i++) s = (s << 8n) | BigInt(b[i]);
  let t = P256_N - s;
  for (let i = b.length - 1; i >= at; i--) { b[i] = Number(t & 255n); t >>= 8n; }
  return digitsEncode(b);
}
function kidOffset(digits) {
  // tag(1) array(1) bstr head(1) protected map {1:-7, 4: h'kid'}: A2 01 26 04 48 <8 bytes>
  const b = digitsDecode(digits);
  for (let i = 0; i < 16; i++) if (b[i] === 0x04 && b[i + 1] === 0x48) return i + 2;
  throw new Error('kid not found');
}

// ---- the page ----

async function openPage(browser) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  // Anything the page logs or throws is shown with the test output.
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('     [page] ' + m.text()); });
  page.on('pageerror', (e) => console.log('     [page error] ' + e.message));
  return { ctx, page };
}

async function verdictFor(page, base, digits, { lang = 'zh', reload = false } = {}) {
  const url = `${base}/V?lang=${lang}#${digits}`;
  if (reload) await page.reload(); else await page.goto(url);
  // Polled from here: page.waitForFunction evaluates a string, which the page's CSP forbids.
  const deadline = Date.now() + 60000;
  for (;;) {
    const done = await page.evaluate(() => document.documentElement.dataset.done).catch(() => '');
    if (done === digits || done === 'nobundle') break;
    if (Date.now() > deadline) throw new Error('the page gave no verdict within 60 s (done=' + done + ')');
    await new Promise((r) => setTimeout(r, 100));
  }
  return page.evaluate(() => {
    const v = document.getElementById('verdict');
    const field = (k) => document.querySelector(`dd[data-field="${k}"]`)?.textContent ?? null;
    const age = document.getElementById('bundle-age');
    const on = document.getElementById('online');
    return {
      status: v.dataset.status, offline: v.dataset.offlineStatus, check: v.dataset.check,
      wordZh: document.querySelector('#verdict-word [data-lang="zh"]')?.textContent ?? null,
      wordBo: document.querySelector('#verdict-word [data-lang="bo"]')?.textContent ?? null,
      reasonZh: document.querySelector('#verdict-reason [data-lang="zh"]')?.textContent ?? null,
      reasonBo: document.querySelector('#verdict-reason [data-lang="bo"]')?.textContent ?? null,
      reasonDetail: document.querySelector('#verdict-reason .detail')?.textContent ?? '',
      issuer: field('issuer'), issuerDept: document.querySelector('dd[data-field="issuer"]')?.dataset.department ?? null,
      fields: document.querySelectorAll('#fields dd').length,
      img: document.getElementById('preview-img').getAttribute('src'),
      holder: field('holder'), identifier: field('identifier'), holderCode: field('holder_code'),
      ageText: age.textContent, ageSeconds: age.dataset.ageSeconds, source: age.dataset.source,
      online: on.dataset.state, registry: on.dataset.registry, onlineText: on.textContent,
      preview: document.getElementById('preview').dataset.loaded === '1' && !document.getElementById('preview').hidden,
      note: !document.getElementById('match-note').hidden, done: document.documentElement.dataset.done,
    };
  });
}

async function shot(page, name) {
  if (!process.env.SHOTS_DIR) return;
  fs.mkdirSync(process.env.SHOTS_DIR, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(process.env.SHOTS_DIR, name), fullPage: false });
  console.log('     screenshot ' + name);
}

function certctlVerify(bundleFile, qrText) {
  let out;
  try {
    out = execFileSync(CERTCTL, ['verify-qr', '--keys', path.join(SRC, 'keys-example'), '--bundle', bundleFile, '--json', qrText],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    out = e.stdout;   // exit 1 for anything but VALID
  }
  return JSON.parse(out);
}

async function e2e(browser, dir) {
  const certd = await startCertd(dir);
  try {
    const key = makeKey(certd, 'samr');
    const a = await issue(certd, key, 'b-1');
    const b = await issue(certd, key, 'b-2');
    // The page's scripts go gzip-compressed to a client that accepts it (node's fetch does and
    // inflates them): the same bytes as the file; a PNG is never recompressed.
    {
      const r = await fetch(certd.base + '/web/verify.js', { headers: { 'Accept-Encoding': 'gzip' } });
      eq(r.headers.get('content-encoding'), 'gzip', '/web/verify.js: Content-Encoding to a gzip client');
      eq(r.headers.get('vary'), 'Accept-Encoding', '/web/verify.js: Vary');
      check(await r.text() === fs.readFileSync(path.join(SRC, 'daemon/web/verify.js'), 'utf8'), '/web/verify.js: inflates to the file');
      const plain = await fetch(certd.base + '/web/inspector.css', { headers: { 'Accept-Encoding': 'identity' } });
      eq(plain.headers.get('content-encoding'), null, '/web/inspector.css: not compressed for an identity-only client');
    }
    const { ctx, page } = await openPage(browser);
    const da = fragment(a.qr_text);

    // 1. VALID with the right holder, fields in large type, the online status and the preview.
    let r = await verdictFor(page, certd.base, da);
    eq(r.status, 'VALID', 'QR URL of an issued licence: verdict');
    eq(r.holder, sample.name, 'holder shown');
    eq(r.identifier, a.id, 'identifier shown');
    eq(r.wordZh, '有效', 'Chinese verdict word');
    eq(r.wordBo, 'ཚད་ལྡན།', 'Tibetan verdict word shown on the Chinese page too');
    check(r.issuer && r.issuer.includes('阿里地区市场监督管理局') && r.issuer.includes('ཁྲོམ་ར་ལྟ་འདོམས་ཅུས') && r.issuerDept === 'samr',
          `issuing authority shown by name in both languages: ${r.issuer}`);
    check(r.note, 'VALID says the printed text must match what is shown');
    eq(r.online, 'online', 'online: registry asked');
    eq(r.registry, 'valid', 'registry status');
    check(r.preview, 'preview of the registered licence shown (QR proof accepted)');
    check(/状态数据来自 .* UTC，已 0 天/.test(r.ageText), `bundle age shown: ${r.ageText}`);
    await shot(page, 'inspector-valid-zh.png');
    r = await verdictFor(page, certd.base, da, { lang: 'bo' });
    eq(r.status, 'VALID', 'Tibetan page: verdict');
    eq(r.wordBo, 'ཚད་ལྡན།', 'Tibetan verdict word');
    check(r.preview && r.img, 'Tibetan page: preview of the registered licence shown');
    await shot(page, 'inspector-valid-bo.png');

    // Issue 16: a forged QR scanned next in the same tab. Everything of the genuine scan goes:
    // no image, no fields; the verdict and its reason in both languages.
    r = await verdictFor(page, certd.base, flip(da, -5), { lang: 'bo' });
    eq(r.status, 'INVALID', 'forged after genuine, same tab: verdict');
    eq(r.check, 'signature', 'forged after genuine: failing check');
    eq(r.wordBo, 'ནུས་མེད།', 'forged: Tibetan verdict word');
    eq(r.wordZh, '无效', 'forged: Chinese verdict word');
    eq(r.reasonZh, '签名无效', 'forged: Chinese reason');
    eq(r.reasonBo, 'མིང་རྟགས་ནོར་འདུག', 'forged: Tibetan reason');
    check(!r.preview && r.img === null, `forged: no preview image (img src ${r.img})`);
    check(r.fields === 0 && r.holder === null && r.identifier === null, `forged: the genuine licence's fields are gone (${r.fields} fields)`);
    check(!r.note, 'forged: no "compare with the paper" note');
    await shot(page, 'inspector-forged-bo.png');

    // Its high-S twin: valid mathematics, refused by the page as by libcert.
    r = await verdictFor(page, certd.base, highS(da));
    eq(r.status, 'INVALID', 'high-S twin of a genuine signature: verdict');
    eq(r.check, 'signature', 'high-S twin: failing check');
    check(r.reasonDetail.includes('high-S'), `high-S twin: reason names high-S: ${r.reasonDetail}`);
    check(!r.preview && r.img === null && r.fields === 0, 'high-S twin: no image, no fields');

    // And the genuine one again: all back.
    r = await verdictFor(page, certd.base, da);
    eq(r.status, 'VALID', 'genuine again after the forged ones');
    check(r.preview && r.fields > 5, 'genuine again: preview and fields shown');

    // The upload form: the licence PDF through POST /v1/verify, the report in readable form.
    const pdf = Buffer.from(await (await fetch(`${certd.base}/v1/licences/${a.id}/pdf`, { headers: { Authorization: 'Bearer ' + key } })).arrayBuffer());
    fs.writeFileSync(path.join(dir, 'licence.pdf'), pdf);
    await page.setInputFiles('#pdf', path.join(dir, 'licence.pdf'));
    await page.click('#upload-form button[type=submit]');
    await page.locator('#report-verdict').waitFor({ timeout: 60000 });
    const rep = await page.evaluate(() => ({
      result: document.querySelector('#report-verdict .code').textContent,
      seal: document.querySelector('#report .seal h3')?.textContent ?? '',
      checks: document.querySelectorAll('#report .seal li').length,
      failed: document.querySelectorAll('#report .seal li[data-status="fail"]').length,
      registry: document.querySelector('#report p.meta')?.textContent ?? '',
      words: document.querySelector('#report-verdict .word').textContent,
      firstCheck: {
        zh: document.querySelector('#report .seal li [lang="zh"]')?.textContent ?? '',
        bo: document.querySelector('#report .seal li [lang="bo"]')?.textContent ?? '',
      },
    }));
    eq(rep.result, 'VALID', 'uploaded PDF: result');
    check(rep.words.includes('有效') && rep.words.includes('ཚད་ལྡན།'), `uploaded PDF: verdict in both languages: ${rep.words}`);
    check(rep.firstCheck.zh && rep.firstCheck.bo, `uploaded PDF: check list in both languages: ${JSON.stringify(rep.firstCheck)}`);
    check(rep.seal.includes('VALID') && rep.seal.includes('阿里地区市场监督管理局'), `uploaded PDF: the seal, its result and department shown: ${rep.seal}`);
    check(rep.checks > 3 && rep.failed === 0, `uploaded PDF: ${rep.checks} checks listed, ${rep.failed} failed`);
    check(rep.registry.includes(a.id), `uploaded PDF: registry entry shown: ${rep.registry}`);

    // 2. A tampered fragment: one bit of the signature -> INVALID "signature" (and no preview).
    r = await verdictFor(page, certd.base, flip(da, -3));
    eq(r.status, 'INVALID', 'tampered fragment (signature bit): verdict');
    eq(r.check, 'signature', 'tampered fragment: failing check');
    check(!r.preview, 'no preview for an unauthenticated payload');

    // 3. Revoked: the bundle fetched now carries the status bit, the registry says revoked.
    await revoke(certd, key, b.id);
    const db = fragment(b.qr_text);
    r = await verdictFor(page, certd.base, db);
    eq(r.status, 'REVOKED', 'revoked licence: verdict');
    eq(r.offline, 'REVOKED', 'revoked already from the bundle alone (status list)');
    eq(r.registry, 'revoked', 'registry status of the revoked licence');
    await shot(page, 'inspector-revoked-zh.png');
    r = await verdictFor(page, certd.base, db, { lang: 'bo' });
    eq(r.wordBo, 'ཕྱིར་བསྡུས་ཟིན།', 'Tibetan REVOKED word');
    await shot(page, 'inspector-revoked-bo.png');

    // 4. Offline: the service worker holds the page, its scripts and the bundle.
    const controlled = await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      return !!navigator.serviceWorker.controller;
    });
    // Issue 16 "What was seen" 5: a bundle signed by a seal key (a key under the same root, but
    // not a pinned bundle signer) is refused by the page, whatever version it claims. Served in
    // place of certd's to a fresh context without a service worker (so nothing is cached).
    {
      const forgedKeys = path.join(dir, 'forged-keys');
      fs.cpSync(path.join(dir, 'keys'), forgedKeys, { recursive: true });
      fs.copyFileSync(path.join(forgedKeys, 'seals/samr/seal.key'), path.join(forgedKeys, 'bundle/bundle.key'));
      fs.copyFileSync(path.join(forgedKeys, 'seals/samr/seal.crt'), path.join(forgedKeys, 'bundle/bundle.crt'));
      const forged = path.join(dir, 'forged.cose');
      execFileSync(CERTCTL, ['trust-bundle', 'export', '--keys', forgedKeys, '--templates', path.join(SRC, 'templates'),
        '--version', '18446744073709551615', '-o', forged], { stdio: ['ignore', 'ignore', 'inherit'] });
      const fctx = await browser.newContext({ serviceWorkers: 'block' });
      await fctx.route('**/v1/trust-bundle', (route) =>
        route.fulfill({ status: 200, contentType: 'application/cose', body: fs.readFileSync(forged) }));
      const fpage = await fctx.newPage();
      const fr = await verdictFor(fpage, certd.base, da);
      check(fr.status !== 'VALID' && fr.done === 'nobundle',
            `bundle signed by a seal key: refused by the page (status ${fr.status}, done ${fr.done})`);
      await fctx.close();
    }

    check(controlled, 'service worker active and controlling the page');
    r = await verdictFor(page, certd.base, da, { lang: 'zh' });
    eq(r.status, 'VALID', 'online again before stopping certd');
    await certd.stop();
    r = await verdictFor(page, certd.base, da, { lang: 'zh', reload: true });
    eq(r.status, 'VALID', 'certd stopped, page reloaded: verdict still');
    eq(r.holder, sample.name, 'certd stopped: holder still shown');
    eq(r.source, 'cache', 'bundle came from the cache');
    check(/状态数据来自 .* UTC，已 0 天/.test(r.ageText) && r.ageText.includes('离线'), `offline bundle age shown: ${r.ageText}`);
    eq(r.online, 'offline', 'online status: offline');
    await shot(page, 'inspector-offline-zh.png');
    r = await verdictFor(page, certd.base, db);
    eq(r.status, 'REVOKED', 'certd stopped: revoked licence still REVOKED from the cached bundle');
    await ctx.close();
  } finally {
    await certd.stop();
  }
}

async function crosscheck(browser, dir) {
  const certd = await startCertd(dir);
  try {
    const key = makeKey(certd, 'samr');
    const a = await issue(certd, key, 'x-1');
    const b = await issue(certd, key, 'x-2');
    await revoke(certd, key, b.id);
    const bundle = new Uint8Array(await (await fetch(certd.base + '/v1/trust-bundle')).arrayBuffer());
    const bundleFile = path.join(dir, 'bundle.cose');
    fs.writeFileSync(bundleFile, bundle);
    const da = fragment(a.qr_text);
    const cases = {
      'valid': da,
      'revoked': fragment(b.qr_text),
      'signature bit flipped': flip(da, -1),
      'high-S twin of the signature': highS(da),
      'payload bit flipped (holder name region)': flip(da, 60),
      'kid changed': flip(da, kidOffset(da)),
      'truncated (2 digits dropped)': da.slice(0, -2),
      'block out of range': '99999999999999999' + da.slice(17),
      'tag in a longer head than needed (non-canonical)': digitsEncode(Uint8Array.from([0xd8, 0x12, ...digitsDecode(da).slice(1)])),
      'trailing byte': digitsEncode(Uint8Array.from([...digitsDecode(da), 0x00])),
      'not CBOR': digitsEncode(Uint8Array.from([0xff, 0x00, 0x01])),
      'empty map': digitsEncode(Uint8Array.from([0xa0])),
    };
    const { ctx, page } = await openPage(browser);
    for (const [name, digits] of Object.entries(cases)) {
      const cli = certctlVerify(bundleFile, 'HTTPS://LIC.ALI.EXAMPLE/V#' + digits);
      const web = await verdictFor(page, certd.base, digits);
      const pageVerdict = web.done === 'nobundle' ? 'NO BUNDLE' : web.offline;
      eq(pageVerdict, cli.verdict, `${name}: page verdict equals certctl verify-qr's`);
      if (web.done !== 'nobundle') eq(web.check || null, cli.check, `${name}: same failing check`);
      if (cli.claims && cli.signature_ok) eq(web.holder, cli.claims.holder_name, `${name}: same holder`);
    }
    await ctx.close();
  } finally {
    await certd.stop();
  }
}

// daemon/web/departments.js (the authority names the page shows offline) must match the templates.
try {
  execFileSync('python3', [path.join(SRC, 'scripts/make-web-departments.py'), '--check'], { stdio: ['ignore', 'pipe', 'pipe'] });
  check(true, 'daemon/web/departments.js is current with templates/departments.json and glossary.json');
} catch (e) {
  check(false, 'daemon/web/departments.js is stale: ' + (e.stderr || e.message));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inspector-'));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  if (mode === 'e2e') await e2e(browser, dir);
  else if (mode === 'crosscheck') await crosscheck(browser, dir);
  else throw new Error('unknown mode ' + mode);
} catch (e) {
  console.log('FAIL exception: ' + (e.stack || e));
  failures++;
} finally {
  await browser.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
