// inspector.js — the inspector's page (issue 8, docs/inspector.md): verifies the licence QR
// payload in the URL fragment (HTTPS://HOST/V#<digits>) in the browser against the trust bundle,
// offline if need be (service worker sw.js + Cache Storage), then, when online, asks certd for
// the registry status and shows the registered licence's preview. Also the PDF upload form
// (POST /v1/verify). Bilingual Tibetan / Chinese.
import { parseBundle, verifyDigits, sha256Hex, BundleError } from './verify.js';
import { bundleSignerPins, rootSha256 } from './pins.js';
import { DEPARTMENTS } from './departments.js';

// The verdict, its reasons and the PDF check list are shown in BOTH languages whatever the chosen
// one (an inspector and a holder may read different scripts); the chosen language orders them.
// Verdict words are docs/verdicts.md's; reasons are keyed by the failing check id (verify.js,
// libcert QrVerdict; the PDF report's check ids). Tibetan here is a DRAFT awaiting the bureau's
// review, exactly as templates/glossary.json says of its entries; REVIEW gives the evidence level
// of each string added for issue 16 (L = composed, review first; M = standard vocabulary,
// S38 attests ནུས་མེད).
const VERDICT = {
  'VALID': { bo: 'ཚད་ལྡན།', zh: '有效' },
  'INVALID': { bo: 'ནུས་མེད།', zh: '无效' },
  'MODIFIED': { bo: 'བཟོ་བཅོས་བྱས་འདུག', zh: '已被改动' },
  'REVOKED': { bo: 'ཕྱིར་བསྡུས་ཟིན།', zh: '已吊销' },
  'EXPIRED': { bo: 'དུས་ཚོད་ཡོལ་ཟིན།', zh: '已过期' },
  'UNKNOWN-SIGNER': { bo: 'ཐམ་ག་ངོས་མ་ཟིན།', zh: '未知印章' },
  'INDETERMINATE': { bo: 'ཐག་གཅོད་བྱེད་མ་ཐུབ།', zh: '无法判定' },
};
const REASON = {
  'structure': { bo: 'ཨང་རྟགས་ཀྱི་རྣམ་པ་ནོར་འདུག', zh: '二维码格式错误' },
  'url-prefix': { bo: 'QR ཨང་རྟགས་ཀྱི་དྲ་ཚིགས་ཁ་བྱང་ངོས་ལེན་མེད།', zh: '二维码中的网址不是认可的地址' },
  'kid': { bo: 'ཐམ་ག་ངོས་མ་ཟིན།', zh: '信任包中没有这枚印章' },
  'signature': { bo: 'མིང་རྟགས་ནོར་འདུག', zh: '签名无效' },
  'issuer-binding': { bo: 'ཐམ་ག་དང་ལག་ཁྱེར་སྤྲོད་མཁན་ལས་ཁུངས་མི་མཐུན།', zh: '印章与发证机关不符' },
  'signer-role': { bo: 'ཐམ་ག་འདིས་ལག་ཁྱེར་འདི་ལ་ཐམ་ག་རྒྱག་མི་ཆོག', zh: '该印章无权签发此证照' },
  'signing-time': { bo: 'མིང་རྟགས་བཀོད་དུས་མ་འོངས་པའི་དུས་ཚོད་ཡིན།', zh: '签发时间晚于当前时间' },
  'key-state': { bo: 'མིང་རྟགས་བཀོད་དུས་ཐམ་གའི་ལྡེ་མིག་བཀོལ་མི་ཆོག', zh: '签发时印章密钥不可用' },
  'key-state:REVOKED': { bo: 'ཐམ་གའི་ལྡེ་མིག་ཕྱིར་བསྡུས་ཟིན།', zh: '印章密钥已因泄露被吊销' },
  'status': { bo: 'ལག་ཁྱེར་གྱི་གནས་སྟངས་ཡིག་ཆ་མེད།', zh: '缺少该证照的状态数据' },
  'status:REVOKED': { bo: 'ལག་ཁྱེར་ཕྱིར་བསྡུས་ཟིན།', zh: '证照已吊销' },
  'expiry': { bo: 'ལག་ཁྱེར་གྱི་དུས་ཚོད་ཡོལ་ཟིན།', zh: '证照已过期' },
  'modifications': { bo: 'ཐམ་ག་བརྒྱབ་རྗེས་བཟོ་བཅོས་བྱས་འདུག', zh: '盖章后被改动' },
  'limits': { bo: 'ཡིག་ཆ་ཆེ་དྲགས། ཞིབ་བཤེར་བྱེད་མ་ཐུབ།', zh: '文件超出核验限制' },
};
// PDF report check ids (libcert verify.h) and their statuses.
const CHECK = {
  'signatures-present': { bo: 'མིང་རྟགས་ཡོད་མེད།', zh: '签名存在' },
  'structure': { bo: 'ཡིག་ཆའི་སྒྲོམ་གཞི།', zh: '文件结构' },
  'byte-range': { bo: 'མིང་རྟགས་ཀྱི་ཁྱབ་ཁོངས།', zh: '签名覆盖范围' },
  'coverage': { bo: 'མིང་རྟགས་ཀྱི་ཁྱབ་ཁོངས།', zh: '签名覆盖范围' },
  'sub-filter': { bo: 'མིང་རྟགས་ཀྱི་རྣམ་པ།', zh: '签名格式' },
  'digest': { bo: 'ཡིག་ཆའི་ཟུར་རྟགས།', zh: '文件摘要' },
  'signature': { bo: 'མིང་རྟགས།', zh: '签名' },
  'signed-attributes': { bo: 'མིང་རྟགས་ཀྱི་ཁྱད་ཆོས།', zh: '签名属性' },
  'signing-certificate': { bo: 'མིང་རྟགས་ལག་ཁྱེར།', zh: '签名证书' },
  'chain': { bo: 'ལག་ཁྱེར་རྒྱུད་རིམ།', zh: '证书链' },
  'key-usage': { bo: 'ལྡེ་མིག་གི་བེད་སྤྱོད།', zh: '密钥用途' },
  'key-state': { bo: 'ལྡེ་མིག་གི་གནས་སྟངས།', zh: '密钥状态' },
  'signer-role': { bo: 'ཐམ་གའི་འགན་ཁུར།', zh: '印章角色' },
  'issuer-binding': { bo: 'ལག་ཁྱེར་སྤྲོད་མཁན་ལས་ཁུངས།', zh: '发证机关' },
  'signing-time': { bo: 'མིང་རྟགས་བཀོད་དུས།', zh: '签名时间' },
  'certification': { bo: 'ར་སྤྲོད་མིང་རྟགས།', zh: '认证签名' },
  'modifications': { bo: 'བཟོ་བཅོས།', zh: '改动' },
  'rendering': { bo: 'མངོན་པའི་རྣམ་པ།', zh: '显示内容' },
  'pages': { bo: 'ཤོག་ངོས།', zh: '页面' },
  'limits': { bo: 'ཚད་བཀག', zh: '核验限制' },
  'status': { bo: 'གནས་སྟངས།', zh: '状态' },
};
const CHECK_STATUS = {
  'pass': { bo: 'འགྲིག', zh: '通过' },
  'fail': { bo: 'མི་འགྲིག', zh: '未通过' },
  'warn': { bo: 'དྲན་སྐུལ།', zh: '警告' },
  'not-checked': { bo: 'ཞིབ་བཤེར་མ་བྱས།', zh: '未检查' },
};
export const REVIEW = { level: 'L', note: 'Tibetan of VERDICT (but VALID, REVOKED, EXPIRED, UNKNOWN-SIGNER, reused from issue 8), REASON, CHECK and CHECK_STATUS: drafts composed for issue 16, awaiting review; INVALID ནུས་མེད is M (S38)' };

const T = {
  bo: {
    title: 'ལག་ཁྱེར་ཞིབ་བཤེར།',
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
let scan = 0;           // increases with every scan: late answers of an earlier scan are dropped

// Both languages, the chosen one first, each in its own element with its lang attribute.
function fillBoth(el, entry, fallback, tag = 'span') {
  const order = lang === 'bo' ? ['bo', 'zh'] : ['zh', 'bo'];
  el.replaceChildren(...order.map((l) => {
    const e = document.createElement(tag);
    e.lang = l;
    e.dataset.lang = l;
    e.textContent = (entry && entry[l]) || fallback || '';
    return e;
  }));
  return el;
}

// "མངའ་རིས་ས་ཁུལ་ཁྲོམ་ར་ལྟ་འདོམས་ཅུས། · 阿里地区市场监督管理局" for a department id of the bundle.
function departmentName(id) {
  const d = DEPARTMENTS[id];
  if (!d) return id || '';
  return lang === 'bo' ? `${d.bo} · ${d.zh}` : `${d.zh} · ${d.bo}`;
}

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
// The last bundle file this page verified, by its SHA-256: a scan that fetches the same file again
// (every scan asks certd for the current bundle) reuses its verified form — with the keys and
// status lists earlier scans already imported and inflated — instead of verifying it again.
// parseBundle's result depends only on the file and the pins, which come with the page.
let verified = null;   // {sha256, bundle}

async function loadBundle() {
  const highest = JSON.parse(localStorage.getItem('bundleHighest') || 'null');
  const accept = async (bytes) => {
    const digest = await sha256Hex(bytes);
    // Pinned root and bundle signers come with the page (/web/pins.js), never from the bundle.
    const b = verified && verified.sha256 === digest ? verified.bundle
      : await parseBundle(bytes, { rootSha256, signerPins: bundleSignerPins });
    verified = { sha256: digest, bundle: b };
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
  const registryRevoked = online && online.registry === 'revoked' && v.verdict === 'VALID';
  const status = registryRevoked ? 'REVOKED' : v.verdict;
  const check = registryRevoked ? 'status' : v.check;
  const box = $('verdict');
  box.dataset.status = status;
  box.dataset.check = check;
  box.dataset.offlineStatus = v.verdict;   // the verdict from the bundle alone
  $('verdict-code').textContent = status;
  fillBoth($('verdict-word'), VERDICT[status], status);
  const reason = $('verdict-reason');
  reason.replaceChildren();
  if (status !== 'VALID') {
    const lines = fillBoth(document.createElement('div'), REASON[`${check}:${status}`] || REASON[check], check, 'div');
    lines.className = 'lines';
    reason.append(...lines.children);
  }
  const detail = registryRevoked ? 'registry: revoked' : v.reason;
  if (detail) {
    const d = document.createElement('div');
    d.className = 'detail';
    d.textContent = detail;
    reason.append(d);
  }
  $('match-note').hidden = status !== 'VALID';
  const dl = $('fields');
  dl.replaceChildren();
  dl.hidden = true;
  const c = v.claims;
  // Only authenticated fields: a forged QR's text must not appear as licence data.
  if (c && v.signatureOk) {
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
    add('issuer', (v.sealDepartment ? departmentName(v.sealDepartment) + ' ' : '') + `(${c.issuer})`);
    dl.querySelector('dd[data-field="issuer"]').dataset.department = v.sealDepartment || '';
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

async function checkOnline(digits, v, bundle) {
  try {
    // certd judges the URL against the bundle's policy (libcert verify_qr "url-prefix"); the
    // page's own host may differ from the printed one (a proxy, a test server), so the digits go
    // under the prefix the policy names: the QR was printed under one of them.
    const prefix = (bundle.policy && bundle.policy.urlPrefixes[0]) || 'HTTPS://' + location.host.toUpperCase() + '/V#';
    const qr = prefix + digits;
    const r = await fetch('/v1/verify', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                          body: JSON.stringify({ qr }) });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const j = await r.json();
    return { offline: false, registry: j.registry && j.registry.found ? j.registry.status : 'unknown', result: j.result };
  } catch (e) {
    return { offline: true };
  }
}

async function showPreview(v, my) {
  if (!v.signatureOk || !v.claims || v.verdict !== 'VALID') return;
  try {
    const r = await fetch(`/v1/licences/${encodeURIComponent(v.claims.licence.identifier)}/preview.png`,
                          { headers: { 'X-Licence-Proof': v.proof } });
    if (!r.ok || my !== scan) return;
    const blob = await r.blob();
    if (my !== scan) return;   // another scan started meanwhile: its result owns the page
    const img = $('preview-img');
    const url = URL.createObjectURL(blob);
    await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; img.src = url; });
    if (my !== scan) { URL.revokeObjectURL(url); return; }
    $('preview').hidden = false;
    $('preview').dataset.loaded = '1';
  } catch (e) { /* offline: no preview */ }
}

// Every scan starts from an empty result: verdict, reasons, fields, preview image and online
// line of the previous scan are removed before anything of the new one is shown (issue 16: a
// forged QR scanned after a genuine one showed its verdict above the genuine licence's image).
function clearResult() {
  last = null;
  const box = $('verdict');
  for (const k of ['status', 'offlineStatus', 'check', 'for']) delete box.dataset[k];
  $('verdict-code').textContent = '…';
  $('verdict-word').replaceChildren();
  $('verdict-reason').replaceChildren();
  $('match-note').hidden = true;
  $('fields').replaceChildren();
  $('fields').hidden = true;
  const fig = $('preview');
  fig.hidden = true;
  delete fig.dataset.loaded;
  const img = $('preview-img');
  if (img.src) URL.revokeObjectURL(img.src);
  img.onload = img.onerror = null;
  img.removeAttribute('src');
  $('bundle-age').textContent = '';
  const on = $('online');
  on.textContent = '';
  for (const k of ['state', 'registry']) delete on.dataset[k];
}

async function run() {
  const my = ++scan;
  clearResult();
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
  if (my !== scan) return;
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
  if (my !== scan) return;
  last = { v, online: null, bundleSource: source };
  $('verdict').dataset.for = digits;
  renderVerdict();
  if (v.signatureOk) {
    const [online] = await Promise.all([checkOnline(digits, v, bundle), showPreview(v, my)]);
    if (my !== scan) return;
    if (last && last.v === v) { last.online = online; renderVerdict(); }
  } else {
    last.online = { offline: false, registry: 'unknown', skipped: true };
    $('online').textContent = '';
    $('online').dataset.state = 'skipped';
  }
  document.documentElement.dataset.done = digits;   // the whole fragment: tests wait for this scan
}

// ---- PDF upload (POST /v1/verify) ----

function renderReport() {
  const box = $('report');
  if (!lastReport) { box.hidden = true; return; }
  const j = lastReport;
  box.replaceChildren();
  const head = document.createElement('div');
  head.className = 'verdict';
  const status = j.result || 'ERROR';
  head.dataset.status = status;
  head.id = 'report-verdict';
  head.innerHTML = '<div class="code"></div><div class="word"></div><div class="reason"></div>';
  head.querySelector('.code').textContent = status;
  fillBoth(head.querySelector('.word'), VERDICT[status], status);
  const detail = document.createElement('div');
  detail.className = 'detail';
  detail.textContent = (j.reasons || []).join('; ') || j.detail || '';
  head.querySelector('.reason').append(detail);
  box.append(head);
  for (const s of (j.report && j.report.signatures) || []) {
    const d = document.createElement('div');
    d.className = 'seal';
    const h = document.createElement('h3');
    const dept = s.signer.department ? departmentName(s.signer.department) : '—';
    h.textContent = `${t('seal')}: ${s.result} — ${t('dept')} ${dept}, ${t('key_version')} ${s.signer.key_version || '—'}`;
    const who = document.createElement('p');
    who.textContent = `${s.signer.subject} · ${s.kind} · ${s.signing_time.value}`;
    const ul = document.createElement('ul');
    for (const c of s.checks || []) {
      const li = document.createElement('li');
      li.dataset.status = c.status;
      li.dataset.check = c.id;
      // Check name and outcome in both languages (chosen one first), then the technical detail.
      const name = fillBoth(document.createElement('span'), CHECK[c.id], c.id);
      const st = fillBoth(document.createElement('span'), CHECK_STATUS[c.status], c.status);
      name.className = 'check-name';
      st.className = 'check-status';
      const sep = (a, b) => [...a.children].map((e, i) => `${e.textContent}: ${b.children[i].textContent}`);
      const lines = sep(name, st);
      li.replaceChildren(...lines.map((txt, i) => {
        const d = document.createElement('div');
        d.lang = name.children[i].lang;
        d.textContent = txt;
        return d;
      }));
      if (c.detail) {
        const d = document.createElement('div');
        d.className = 'detail';
        d.textContent = `${c.id}: ${c.detail}`;
        li.append(d);
      }
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
