// inspector.js — the inspector's page (issue 8, docs/inspector.md): verifies the licence QR
// payload in the URL fragment (HTTPS://HOST/V#<digits>) in the browser against the trust bundle,
// offline if need be (service worker sw.js + Cache Storage), then, when online, asks certd for
// the registry status and shows the registered licence's preview. Also the PDF upload form
// (POST /v1/verify). Bilingual Tibetan / Chinese.
import { parseBundle, verifyDigits, hex, BundleError } from './verify.js';

const T = {
  bo: {
    title: 'ལག་ཁྱེར་ཞིབ་བཤེར།',
    'VALID': 'ཚད་ལྡན།', 'REVOKED': 'ཕྱིར་བསྡུས་ཟིན།', 'EXPIRED': 'དུས་ཚོད་ཡོལ་ཟིན།',
    'UNKNOWN KEY': 'ཐམ་ག་ངོས་མ་ཟིན།', 'SIGNATURE INVALID': 'མིང་རྟགས་ནོར་འདུག',
    'MALFORMED': 'ཨང་རྟགས་ཀྱི་རྣམ་པ་ནོར་འདུག',
    match: 'ཤོག་བུའི་ལག་ཁྱེར་སྟེང་གི་ཡི་གེ་དང་འདིར་མངོན་པ་གཅིག་མཚུངས་ཡིན་དགོས། མིང་རྟགས་ཀྱིས་ QR ཨང་རྟགས་ཁོ་ན་བདེན་དཔང་བྱེད།',
    holder: 'ལག་ཁྱེར་འཛིན་མཁན།', holder_code: 'ཨང་རྟགས། (统一社会信用代码 / 身份证号)',
    licence: 'ལག་ཁྱེར།', identifier: 'ལག་ཁྱེར་ངོས་འཛིན་ཨང་།', issue_date: 'སྤྲོད་པའི་ཚེས་གྲངས།',
    area: 'ས་ཁོངས་ཨང་རྟགས།', issuer: 'ལག་ཁྱེར་སྤྲོད་མཁན།', signed: 'མིང་རྟགས་བཀོད་དུས།',
    expires: 'ནུས་ལྡན་མཇུག་དུས།', never: 'དུས་ཚད་མེད།',
    shortened: (n) => `(མིང་ཐུང་དུ་བཏང་ཡོད། ཆ་ཚང་ཡིག་འབྲུ་ ${n})`,
    bundle_age: (d, n) => `གནས་སྟངས་ཡིག་ཆ་ ${d} ནས། ཉིན་ ${n} སོང་།`,
    bundle_cache: 'དྲ་རྒྱ་མེད། ཉར་ཚགས་ཡིག་ཆ་བེད་སྤྱོད་བྱས།',
    online_checking: 'དྲ་ཐོག་ཐོ་འགོད་ཞིབ་བཤེར་བྱེད་བཞིན་པ།…',
    online: (s) => `དྲ་ཐོག་ཐོ་འགོད་གནས་སྟངས། ${s}`,
    offline: 'དྲ་རྒྱ་མེད། ཐོ་འགོད་གནས་སྟངས་ཞིབ་བཤེར་བྱེད་མ་ཐུབ། (གོང་གི་ཐག་གཅོད་ནི་ཉར་ཚགས་ཡིག་ཆ་ལ་གཞིགས་ཡོད།)',
    reg_valid: 'ཚད་ལྡན།', reg_revoked: 'ཕྱིར་བསྡུས་ཟིན།', reg_unknown: 'ཐོ་འགོད་ནང་མེད།',
    preview: 'ཐོ་འགོད་བྱས་པའི་ལག་ཁྱེར། (ཤོག་བུ་དང་བསྡུར་རོགས།)',
    scan: 'ལག་ཁྱེར་གྱི་ QR ཨང་རྟགས་ཁ་པར་གྱིས་བཤེར་རོགས།',
    upload: 'PDF ཡིག་ཆ་ཞིབ་བཤེར།', check: 'ཞིབ་བཤེར།',
    no_bundle: 'བློ་གཏད་ཡིག་ཆ་མེད། (དྲ་རྒྱ་མཐུད་རོགས།)',
    seal: 'ཐམ་ག', dept: 'ལས་ཁུངས།', key_version: 'ལྡེ་མིག་པར་གཞི།', checks: 'ཞིབ་བཤེར་བྱས་པ།',
  },
  zh: {
    title: '证照核验',
    'VALID': '有效', 'REVOKED': '已吊销', 'EXPIRED': '已过期',
    'UNKNOWN KEY': '未知印章密钥', 'SIGNATURE INVALID': '签名无效', 'MALFORMED': '二维码格式错误',
    match: '请核对：纸质证照上的文字必须与下方显示的内容一致。签名只证明二维码内容真实。',
    holder: '持证者', holder_code: '统一社会信用代码 / 身份证号', licence: '证照',
    identifier: '证照标识', issue_date: '发证日期', area: '行政区划代码', issuer: '发证机关',
    signed: '签发时间', expires: '有效期至', never: '长期',
    shortened: (n) => `（名称已缩短，全称 ${n} 字）`,
    bundle_age: (d, n) => `状态数据来自 ${d}，已 ${n} 天`,
    bundle_cache: '离线：使用本机缓存的信任包',
    online_checking: '正在联网查询登记状态…',
    online: (s) => `联网查询登记状态：${s}`,
    offline: '离线：无法查询登记状态（上方结论依据本机缓存的数据）',
    reg_valid: '有效', reg_revoked: '已吊销', reg_unknown: '登记中无此证照',
    preview: '登记的证照（请与纸质证照比对）',
    scan: '请用手机扫描证照上的二维码。',
    upload: '上传 PDF 核验', check: '核验',
    no_bundle: '没有信任包（请联网后重试）',
    seal: '印章', dept: '部门', key_version: '密钥版本', checks: '已检查项目',
  },
};

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let lang = params.get('lang') || localStorage.getItem('lang') ||
           ((navigator.language || '').startsWith('bo') ? 'bo' : 'zh');
if (!T[lang]) lang = 'zh';
let last = null;        // {v, online, bundleSource}
let lastReport = null;

function t(key, ...a) {
  const v = T[lang][key];
  return typeof v === 'function' ? v(...a) : (v ?? key);
}

function utc(sec) {
  return new Date(sec * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}
function ymd(n) {
  const s = String(n).padStart(8, '0');
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

// ---- trust bundle: network (via the service worker), else the cached copy ----

const DATA_CACHE = 'inspector-data-v1';

async function loadBundle() {
  const pinned = localStorage.getItem('pinnedRoot');
  const highest = JSON.parse(localStorage.getItem('bundleHighest') || 'null');
  const accept = async (bytes) => {
    const b = await parseBundle(bytes, pinned ? Uint8Array.from(pinned.match(/../g), (h) => parseInt(h, 16)) : null);
    // Rollback protection (qr.md): never go back to an older version, nor accept another file
    // that claims the highest version seen.
    if (highest && (b.version < highest.version || (b.version === highest.version && b.sha256 !== highest.sha256))) {
      throw new BundleError(`rollback refused: bundle version ${b.version}, already seen ${highest.version}`);
    }
    return b;
  };
  let source = 'network';
  let bundle = null, error = '';
  try {
    const r = await fetch('/v1/trust-bundle', { cache: 'no-cache' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    if (r.headers.get('X-Inspector-Cache') === 'hit') source = 'cache';
    const bytes = new Uint8Array(await r.clone().arrayBuffer());
    bundle = await accept(bytes);
    if (source === 'network') {
      const c = await caches.open(DATA_CACHE);
      await c.put('/v1/trust-bundle', new Response(bytes, { headers: { 'Content-Type': 'application/cose' } }));
    }
  } catch (e) {
    error = e.message;
    try {
      const c = await caches.open(DATA_CACHE);
      const r = await c.match('/v1/trust-bundle');
      if (r) { bundle = await accept(new Uint8Array(await r.arrayBuffer())); source = 'cache'; }
    } catch (e2) { error += '; ' + e2.message; }
  }
  if (bundle) {
    if (!pinned) localStorage.setItem('pinnedRoot', hex(bundle.rootDer));   // trust on first use
    localStorage.setItem('bundleHighest', JSON.stringify({ version: bundle.version, sha256: bundle.sha256 }));
  }
  return { bundle, source, error };
}

// ---- rendering ----

function renderStatic() {
  document.documentElement.lang = lang;
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('lang-bo').setAttribute('aria-pressed', String(lang === 'bo'));
  $('lang-zh').setAttribute('aria-pressed', String(lang === 'zh'));
}

function renderVerdict() {
  if (!last) return;
  const { v, online, bundleSource } = last;
  const status = online && online.registry === 'revoked' && v.status === 'VALID' ? 'REVOKED' : v.status;
  const box = $('verdict');
  box.dataset.status = status;
  box.dataset.offlineStatus = v.status;   // the verdict from the bundle alone
  $('verdict-code').textContent = status;
  $('verdict-word').textContent = t(status);
  $('verdict-reason').textContent = status !== v.status ? 'registry: revoked' : v.reason;
  $('match-note').hidden = status !== 'VALID';
  const dl = $('fields');
  dl.replaceChildren();
  const c = v.claims;
  if (c) {
    const add = (k, val) => {
      const dt = document.createElement('dt'); dt.textContent = t(k);
      const dd = document.createElement('dd'); dd.textContent = val; dd.dataset.field = k;
      dl.append(dt, dd);
    };
    const l = c.licence;
    add('holder', l.holderName + (l.holderNameChars ? ' … ' + t('shortened', l.holderNameChars) : ''));
    if (l.holderCode) add('holder_code', l.holderCode);
    add('licence', l.title);
    add('identifier', l.identifier);
    add('issue_date', ymd(l.issueDate));
    add('area', String(l.areaCode));
    add('issuer', c.issuer + (v.sealDepartment ? ` (${v.sealDepartment})` : ''));
    add('signed', utc(c.issuedAt));
    add('expires', c.expiresAt !== undefined ? utc(c.expiresAt) : t('never'));
    dl.hidden = false;
  }
  const age = $('bundle-age');
  const days = Math.floor(v.bundleAgeSeconds / 86400);
  age.textContent = t('bundle_age', utc(v.bundleIssuedAt), days) + (bundleSource === 'cache' ? ' — ' + t('bundle_cache') : '');
  age.dataset.ageSeconds = String(v.bundleAgeSeconds);
  age.dataset.source = bundleSource;
  age.dataset.state = bundleSource === 'cache' ? 'offline' : days > 30 ? 'old' : 'fresh';
  const on = $('online');
  if (!online) { on.textContent = t('online_checking'); on.dataset.state = 'checking'; }
  else if (online.offline) { on.textContent = t('offline'); on.dataset.state = 'offline'; }
  else {
    const word = online.registry === 'valid' ? t('reg_valid') : online.registry === 'revoked' ? t('reg_revoked') : t('reg_unknown');
    on.textContent = t('online', word);
    on.dataset.state = online.registry === 'revoked' ? 'revoked' : 'online';
    on.dataset.registry = online.registry;
  }
  $('bundle-info').textContent = `trust bundle v${v.bundleVersion}`;
}

async function checkOnline(digits, v) {
  try {
    const qr = 'HTTPS://' + location.host.toUpperCase() + '/V#' + digits;
    const r = await fetch('/v1/verify', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                          body: JSON.stringify({ qr }) });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const j = await r.json();
    return { offline: false, registry: j.registry && j.registry.found ? j.registry.status : 'unknown', result: j.result };
  } catch (e) {
    return { offline: true };
  }
}

async function showPreview(v) {
  const fig = $('preview');
  fig.hidden = true;
  if (!v.signatureOk || !v.claims) return;
  try {
    const r = await fetch(`/v1/licences/${encodeURIComponent(v.claims.licence.identifier)}/preview.png`,
                          { headers: { 'X-Licence-Proof': v.proof } });
    if (!r.ok) return;
    const img = $('preview-img');
    if (img.src) URL.revokeObjectURL(img.src);
    const blob = await r.blob();
    await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; img.src = URL.createObjectURL(blob); });
    fig.hidden = false;
    fig.dataset.loaded = '1';
  } catch (e) { /* offline: no preview */ }
}

async function run() {
  renderStatic();
  const digits = location.hash.replace(/^#/, '');
  document.documentElement.dataset.done = '';
  if (!digits) {
    $('qr').hidden = true;
    $('noqr').hidden = false;
    document.documentElement.dataset.done = 'noqr';
    return;
  }
  $('noqr').hidden = true;
  $('qr').hidden = false;
  const { bundle, source, error } = await loadBundle();
  if (!bundle) {
    const box = $('verdict');
    box.dataset.status = 'NO BUNDLE';
    $('verdict-code').textContent = '—';
    $('verdict-word').textContent = t('no_bundle');
    $('verdict-reason').textContent = error;
    document.documentElement.dataset.done = 'nobundle';
    return;
  }
  const v = await verifyDigits(digits, bundle, Date.now() / 1000);
  last = { v, online: null, bundleSource: source };
  $('verdict').dataset.for = digits;
  renderVerdict();
  if (v.signatureOk) {
    const [online] = await Promise.all([checkOnline(digits, v), showPreview(v)]);
    if (last && last.v === v) { last.online = online; renderVerdict(); }
  } else {
    last.online = { offline: false, registry: 'unknown', skipped: true };
    $('online').textContent = '';
    $('online').dataset.state = 'skipped';
  }
  document.documentElement.dataset.done = digits.slice(0, 32);
}

// ---- PDF upload (POST /v1/verify) ----

function renderReport() {
  const box = $('report');
  if (!lastReport) { box.hidden = true; return; }
  const j = lastReport;
  box.replaceChildren();
  const head = document.createElement('div');
  head.className = 'verdict';
  const status = j.result === 'INVALID' || j.result === 'MODIFIED' ? 'SIGNATURE INVALID' : j.result;
  head.dataset.status = status;
  head.id = 'report-verdict';
  head.innerHTML = '<div class="code"></div><div class="word"></div><div class="reason"></div>';
  head.querySelector('.code').textContent = j.result || 'ERROR';
  head.querySelector('.word').textContent = T[lang][status] || '';
  head.querySelector('.reason').textContent = (j.reasons || []).join('; ') || j.detail || '';
  box.append(head);
  for (const s of (j.report && j.report.signatures) || []) {
    const d = document.createElement('div');
    d.className = 'seal';
    const h = document.createElement('h3');
    h.textContent = `${t('seal')}: ${s.result} — ${t('dept')} ${s.signer.department || '—'}, ${t('key_version')} ${s.signer.key_version || '—'}`;
    const who = document.createElement('p');
    who.textContent = `${s.signer.subject} · ${s.kind} · ${s.signing_time.value}`;
    const ul = document.createElement('ul');
    for (const c of s.checks || []) {
      const li = document.createElement('li');
      li.dataset.status = c.status;
      li.textContent = `${c.id}: ${c.status}${c.detail ? ' — ' + c.detail : ''}`;
      ul.append(li);
    }
    const cap = document.createElement('p');
    cap.textContent = t('checks');
    d.append(h, who, cap, ul);
    box.append(d);
  }
  if (j.registry) {
    const p = document.createElement('p');
    p.className = 'meta';
    p.textContent = j.registry.found ? t('online', j.registry.status === 'revoked' ? t('reg_revoked') : t('reg_valid')) + ` (${j.registry.id})` : t('reg_unknown');
    box.append(p);
  }
  box.hidden = false;
}

async function upload(ev) {
  ev.preventDefault();
  const f = $('pdf').files[0];
  if (!f) return;
  try {
    const r = await fetch('/v1/verify', { method: 'POST', headers: { 'Content-Type': 'application/pdf' }, body: f });
    lastReport = await r.json();
  } catch (e) {
    lastReport = { result: 'ERROR', reasons: [t('offline')] };
  }
  renderReport();
}

function setLang(l) {
  lang = l;
  localStorage.setItem('lang', l);
  renderStatic();
  renderVerdict();
  renderReport();
}

$('lang-bo').addEventListener('click', () => setLang('bo'));
$('lang-zh').addEventListener('click', () => setLang('zh'));
$('upload-form').addEventListener('submit', upload);
window.addEventListener('hashchange', run);
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}
run();
