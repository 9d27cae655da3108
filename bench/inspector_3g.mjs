// bench/inspector_3g.mjs URL QR_TEXT — the inspector's page (daemon/web/) over a throttled 3G
// profile in headless Debian chromium (issue 21 point 5: first load + verify ≤ 5 s). A benchmark,
// not a test: it prints times and bytes, and exits non-zero only if the page gives no verdict.
//
//   node bench/inspector_3g.mjs http://127.0.0.1:PORT 'HTTPS://LIC.ALI.EXAMPLE/V#0123…'
//   DOWN_KBIT=750 UP_KBIT=250 RTT_MS=100 RUNS=3 node bench/inspector_3g.mjs …
//   PROFILE=1 node bench/inspector_3g.mjs …   # + the page's CPU profile in run 1 (by function)
//
// Each run opens a fresh browser context (empty HTTP cache, no service worker, no stored bundle:
// a phone that never saw the page), emulates the network with CDP Network.emulateNetworkConditions
// (download/upload throughput, added round-trip latency), opens URL/V#<digits> and measures:
//   offline verdict — navigation start → the verdict of the in-browser verification is on screen;
//   done            — → the online registry status and the preview image are in as well;
//   again           — a second scan in the same tab (bundle and scripts cached).
// Bytes are what went over the wire (CDP encodedDataLength), per resource.
// Uses playwright-core from tests/browser (npm ci there first: tests/browser/run.sh does it).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/browser/package.json'));
const { chromium } = require('playwright-core');

const [base, qr] = process.argv.slice(2);
if (!base || !qr) {
  console.error('usage: node bench/inspector_3g.mjs URL QR_TEXT');
  process.exit(2);
}
const digits = qr.slice(qr.indexOf('#') + 1);
const DOWN = Number(process.env.DOWN_KBIT || 750);
const UP = Number(process.env.UP_KBIT || 250);
const RTT = Number(process.env.RTT_MS || 100);
const RUNS = Number(process.env.RUNS || 3);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Polled from here: page.waitForFunction evaluates a string, which the page's CSP forbids.
async function waitFor(page, pred, what, t0) {
  for (;;) {
    const v = await page.evaluate(pred, digits).catch(() => null);
    if (v) return performance.now() - t0;
    if (performance.now() - t0 > 120000) throw new Error(`no ${what} within 120 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const verdictShown = (d) => {
  const v = document.getElementById('verdict');
  return v && v.dataset.for === d && v.dataset.status ? v.dataset.status : null;
};
const done = (d) => document.documentElement.dataset.done === d;

function printProfile(prof) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  prof.samples.forEach((id, k) => {
    const f = byId.get(id).callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? path.basename(f.url) + ':' + (f.lineNumber + 1) : ''}`;
    const dt = prof.timeDeltas[k] / 1000;
    self.set(name, (self.get(name) || 0) + dt);
    total += dt;
  });
  console.log(`  main-thread CPU profile, navigation → verdict: ${total.toFixed(0)} ms sampled; self time by function:`);
  for (const [name, ms] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`    ${ms.toFixed(1).padStart(9)} ms  ${name}`);
  }
}

console.log(`profile: ${DOWN} kbit/s down, ${UP} kbit/s up, ${RTT} ms added round-trip latency; ${RUNS} cold runs`);
const rows = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: RTT, downloadThroughput: (DOWN * 1000) / 8, uploadThroughput: (UP * 1000) / 8,
    });
    const urls = new Map();
    const bytes = new Map();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
    cdp.on('Network.loadingFinished', (e) => {
      const u = urls.get(e.requestId) || '?';
      bytes.set(u, (bytes.get(u) || 0) + e.encodedDataLength);
    });
    // PROFILE=1: the V8 CPU profile of the page's main thread during run 1, from navigation to
    // the verdict (sampled every 100 µs), summed by function (self time).
    const profiling = run === 1 && process.env.PROFILE === '1';
    if (profiling) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    const t0 = performance.now();
    await page.goto(`${base}/V?lang=zh#${digits}`, { waitUntil: 'commit' });
    const tVerdict = await waitFor(page, verdictShown, 'verdict', t0);
    const status = await page.evaluate(verdictShown, digits);
    if (profiling) printProfile((await cdp.send('Profiler.stop')).profile);
    const tDone = await waitFor(page, done, 'online answer', t0);
    // A second scan in the same tab: another fragment makes the page verify again.
    const t1 = performance.now();
    await page.evaluate(() => { location.hash = ''; });
    await page.evaluate((d) => { location.hash = d; }, digits);
    const tAgain = await waitFor(page, done, 'second verdict', t1);
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    rows.push({ tVerdict, tDone, tAgain, total });
    console.log(`run ${run}: ${status}; offline verdict ${(tVerdict / 1000).toFixed(2)} s, done ${(tDone / 1000).toFixed(2)} s, ` +
      `second scan ${(tAgain / 1000).toFixed(2)} s; ${total} B over the wire`);
    if (run === 1) {
      for (const [u, b] of [...bytes.entries()].sort((a, c) => c[1] - a[1])) console.log(`    ${String(b).padStart(9)} B  ${u}`);
    }
    await ctx.close();
  }
} finally {
  await browser.close();
}
const med = (k) => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
console.log(`median of ${rows.length}: offline verdict ${(med('tVerdict') / 1000).toFixed(2)} s, ` +
  `done ${(med('tDone') / 1000).toFixed(2)} s, second scan ${(med('tAgain') / 1000).toFixed(2)} s, ` +
  `${med('total')} B`);
