// sw.js — the inspector page's service worker (scope "/"): the page and its scripts come from
// the cache when there is no network, and the trust bundle is fetched network-first with the
// last good copy as the fallback (marked X-Inspector-Cache: hit, so the page says it is offline
// and how old the bundle is). API calls other than the bundle always go to the network.
const STATIC = 'inspector-static-v3';
const DATA = 'inspector-data-v1';
const FILES = ['/V', '/web/inspector.js', '/web/verify.js', '/web/cbor.js', '/web/departments.js', '/web/pins.js',
               '/web/inspector.css'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(STATIC).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) if (![STATIC, DATA].includes(k)) await caches.delete(k);
    await self.clients.claim();
  })());
});

async function networkFirst(req, cacheName, key) {
  const c = await caches.open(cacheName);
  try {
    const r = await fetch(req);
    if (r.ok) await c.put(key, r.clone());
    return r;
  } catch (err) {
    const hit = await c.match(key, { ignoreSearch: true });
    if (!hit) throw err;
    const h = new Headers(hit.headers);
    h.set('X-Inspector-Cache', 'hit');
    return new Response(await hit.arrayBuffer(), { status: 200, headers: h });
  }
}

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== location.origin || e.request.method !== 'GET') return;
  if (url.pathname === '/v1/trust-bundle') {
    e.respondWith(networkFirst(e.request, DATA, '/v1/trust-bundle'));
  } else if (url.pathname === '/V' || url.pathname === '/v') {
    e.respondWith(networkFirst(e.request, STATIC, '/V'));
  } else if (FILES.includes(url.pathname)) {
    e.respondWith(networkFirst(e.request, STATIC, url.pathname));
  }
});
