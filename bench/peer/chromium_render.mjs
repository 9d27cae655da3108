// Peer pipeline for bench/peer.sh: the same HTML as weasy_render.py (bilingual title, one row per
// face field, our seal SVG and the licence's QR SVG, the same fonts) printed to PDF by headless
// Debian chromium through puppeteer-core's page.pdf(), the usual "HTML -> headless Chromium"
// alternative. One browser for the whole run (its start-up is not counted); per template one
// warm-up, then REPEATS timed page.setContent + page.pdf in one tab; prints one TSV row per
// template: id, median ms, bytes, median CPU ms of chromium's process tree (like weasy_render.py),
// and writes WORK_DIR/<id>.chromium.pdf.
//
// usage: node chromium_render.mjs TEMPLATES_DIR WORK_DIR REPEATS
// Needs `npm ci` in bench/peer (puppeteer-core, package-lock.json) and Debian chromium.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [tdir, work, repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg || 1);
const CSS = `
@page { size: A4; margin: 18mm; }
body { font-family: "Noto Serif Tibetan", "AR PL UMing CN"; font-size: 11pt; color: #111; }
h1 { text-align: center; font-size: 20pt; margin: 0 0 2mm 0; }
h2 { text-align: center; font-size: 13pt; margin: 0 0 6mm 0; font-weight: normal; }
table { width: 100%; border-collapse: collapse; }
td { border-bottom: 0.3pt solid #999; padding: 1.5mm 2mm; vertical-align: top; }
td.l { width: 38%; color: #333; }
.foot { position: relative; height: 45mm; margin-top: 8mm; }
.seal { position: absolute; right: 30mm; top: 0; width: 42mm; height: 42mm; }
.qr { position: absolute; left: 0; top: 0; width: 45mm; height: 45mm; }
`;
// CPU time (ms) of chromium's whole process tree (browser, renderer, GPU/utility processes) plus
// this node process: page.pdf's work is spread over several processes. /proc/<pid>/stat fields
// 14-17 (utime, stime, cutime, cstime) in clock ticks (100 Hz).
function treeCpuMs(root) {
  const parent = new Map();
  const ticks = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch { /* the process ended meanwhile */ }
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) {
      if (p === root) { sum += t; break; }
    }
  }
  const self = process.cpuUsage();
  return sum * 10 + (self.user + self.system) / 1000;
}
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const glossary = JSON.parse(fs.readFileSync(path.join(tdir, 'glossary.json'), 'utf8')).entries;
const absWork = path.resolve(work);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--allow-file-access-from-files'],
});
try {
  const page = await browser.newPage();
  for (const tid of fs.readdirSync(tdir).sort()) {
    const manPath = path.join(tdir, tid, 'manifest.json');
    if (!fs.existsSync(manPath)) continue;
    const man = JSON.parse(fs.readFileSync(manPath, 'utf8'));
    const data = JSON.parse(fs.readFileSync(path.join(tdir, tid, 'sample.json'), 'utf8'));
    const title = glossary[man.title];
    const rows = [];
    for (const f of man.fields) {
      const label = glossary[f.label || ''] || { bo: '', zh: f.name };
      const value = data[f.name] ?? '';
      if (value === '') continue;
      rows.push(`<tr><td class="l">${esc(label.bo)}<br>${esc(label.zh)}</td><td>${esc(value)}</td></tr>`);
    }
    // The SVGs inline as data: URLs, so that the page needs no file access.
    const svg = (f) => 'data:image/svg+xml;base64,' + fs.readFileSync(path.join(absWork, f)).toString('base64');
    const doc = `<html><head><meta charset="utf-8"><style>${CSS}</style></head><body>
<h1>${esc(title.zh)}</h1><h2>${esc(title.bo)}</h2><table>${rows.join('')}</table>
<div class="foot"><img class="qr" src="${svg(tid + '.qr.svg')}"><img class="seal" src="${svg(man.department + '.seal.svg')}"></div>
</body></html>`;
    const render = async () => {
      await page.setContent(doc, { waitUntil: 'load' });
      return page.pdf({ format: 'A4', preferCSSPageSize: true, printBackground: true });
    };
    await render();  // warm-up
    const times = [];
    const cpu = [];
    let pdf;
    for (let i = 0; i < repeats; i++) {
      const c0 = treeCpuMs(browser.process().pid);
      const t0 = performance.now();
      pdf = await render();
      times.push(performance.now() - t0);
      cpu.push(treeCpuMs(browser.process().pid) - c0);
    }
    fs.writeFileSync(path.join(absWork, tid + '.chromium.pdf'), pdf);
    const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    console.log(`${tid}\t${median(times).toFixed(2)}\t${pdf.length}\t${median(cpu).toFixed(2)}`);
  }
} finally {
  await browser.close();
}
