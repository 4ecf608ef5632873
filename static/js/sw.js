// Vigía's service worker (served at /sw.js, whose first line, added by the
// server, names the build: VIGIA_BUILD). What it does:
// - on install, keeps every versioned file of /static/ and the pages the
//   incident form needs offline (/incidents/new, /envios), as the server
//   answers them to the signed-in person (a redirect to sign in is not
//   kept);
// - pages: network first, the kept copy when there is no network (only
//   the pages listed are kept, refreshed on each visit);
// - /static/<hash>/…: the kept copy first (the address changes with the
//   content);
// - GET /api/v1/actors (the form's search as you type): the network, and
//   without it a search in a kept copy of every actor, refreshed whenever
//   the form opens online;
// - GET /offline/districts.json (the form's district search): the network,
//   kept whenever it answers, and the kept copy without a network;
// - anything else (API writes above all) is never touched nor kept.
/* global VIGIA_BUILD */
'use strict';

const STATIC_CACHE = 'vigia-static-' + VIGIA_BUILD;
const PAGES_CACHE = 'vigia-pages';
const DATA_CACHE = 'vigia-data';
const OFFLINE_PAGES = ['/incidents/new', '/envios'];
const ACTORS_KEY = '/offline/actors.json';
const DISTRICTS = '/offline/districts.json';

// The district list, fetched and kept (a failed fetch keeps the old one).
const refreshDistricts = async () => {
  try {
    const response = await fetch(DISTRICTS, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.ok && !response.redirected) {
      const cache = await caches.open(DATA_CACHE);
      await cache.put(DISTRICTS, response);
    }
  } catch (e) {
    // No network: the kept copy stays.
  }
};

const keepPage = async (path, response) => {
  // A redirect (to sign in) or an error page is not what the person needs.
  if (!response || !response.ok || response.redirected || response.type !== 'basic') {
    return;
  }
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(path, response);
};

const precache = async () => {
  const answer = await fetch('/offline/assets.json', { cache: 'no-store' });
  if (!answer.ok) {
    throw new Error('no asset list');
  }
  const list = await answer.json();
  const cache = await caches.open(STATIC_CACHE);
  await cache.addAll(list.assets);
  for (const path of list.pages) {
    try {
      const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
      await keepPage(path, response);
    } catch (e) {
      // Not signed in yet, or no network: kept on the next visit.
    }
  }
  await refreshActors();
  await refreshDistricts();
};

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((n) => n.startsWith('vigia-static-') && n !== STATIC_CACHE)
            .map((n) => caches.delete(n))
        )
      )
      .then(() => self.clients.claim())
  );
});

// Every actor, page after page, into one kept list.
let refreshing = null;
const refreshActors = () => {
  if (refreshing) {
    return refreshing;
  }
  refreshing = (async () => {
    const items = [];
    let cursor = null;
    for (let i = 0; i < 100; i += 1) {
      const url = '/api/v1/actors?limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
      const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!response.ok) {
        return;
      }
      const page = await response.json();
      (page.items || []).forEach((a) => items.push({ id: a.id, name: a.name, aliases: a.aliases || [], kind: a.kind }));
      cursor = page.next_cursor;
      if (!cursor) {
        break;
      }
    }
    const cache = await caches.open(DATA_CACHE);
    await cache.put(
      ACTORS_KEY,
      new Response(JSON.stringify({ items, kept_at: Date.now() }), { headers: { 'Content-Type': 'application/json' } })
    );
  })()
    .catch(() => undefined)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
};

// Lower case, without accents: "Perú" is found by "peru".
const fold = (text) =>
  String(text || '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

const searchKeptActors = async (url) => {
  const cache = await caches.open(DATA_CACHE);
  const kept = await cache.match(ACTORS_KEY);
  const all = kept ? (await kept.json()).items : [];
  const words = fold(url.searchParams.get('q')).split(/\s+/).filter(Boolean);
  const limit = Math.max(1, Math.min(200, Number(url.searchParams.get('limit')) || 50));
  const items = all
    .filter((a) => {
      const text = fold([a.name].concat(a.aliases).join(' '));
      return words.every((w) => text.indexOf(w) !== -1);
    })
    .slice(0, limit);
  return new Response(JSON.stringify({ items, next_cursor: null }), {
    headers: { 'Content-Type': 'application/json', 'X-Vigia-Offline': 'kept' },
  });
};

// A file asked for under another version's address (Leaflet's images,
// named relative to its stylesheet's address): the kept copy of it.
const anyVersion = async (url) => {
  const file = url.pathname.replace(/^\/static\/[^/]+\//, '/');
  const cache = await caches.open(STATIC_CACHE);
  const keys = await cache.keys();
  const same = keys.find((k) => new URL(k.url).pathname.replace(/^\/static\/[^/]+\//, '/') === file);
  return same ? cache.match(same) : null;
};

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') {
    return; // Writes go to the network as they are, never kept.
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.startsWith('/static/')) {
    event.respondWith(
      caches.match(request).then((hit) => {
        if (hit) {
          return hit;
        }
        return fetch(request).catch(() => anyVersion(url).then((kept) => kept || Response.error())).then((response) => {
          if (response.ok && /^\/static\/[0-9a-f]{12}\//.test(url.pathname)) {
            const copy = response.clone();
            caches.open(STATIC_CACHE).then((cache) => cache.put(request, copy));
          }
          return response;
        });
      })
    );
    return;
  }
  if (url.pathname === '/api/v1/actors') {
    event.respondWith(fetch(request).catch(() => searchKeptActors(url)));
    return;
  }
  if (url.pathname === DISTRICTS) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && !response.redirected) {
            const copy = response.clone();
            event.waitUntil(caches.open(DATA_CACHE).then((cache) => cache.put(DISTRICTS, copy)));
          }
          return response;
        })
        .catch(async (error) => {
          const kept = await caches.match(DISTRICTS, { cacheName: DATA_CACHE });
          if (kept) {
            return kept;
          }
          throw error;
        })
    );
    return;
  }
  if (request.mode === 'navigate') {
    const kept = OFFLINE_PAGES.indexOf(url.pathname) !== -1;
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (kept && !url.search) {
            event.waitUntil(keepPage(url.pathname, response.clone()));
            if (url.pathname === '/incidents/new') {
              event.waitUntil(refreshActors());
              event.waitUntil(refreshDistricts());
            }
          }
          return response;
        })
        .catch(async (error) => {
          if (kept) {
            const hit = await caches.match(url.pathname, { cacheName: PAGES_CACHE });
            if (hit) {
              return hit;
            }
          }
          throw error;
        })
    );
  }
});

self.addEventListener('message', (event) => {
  const data = event.data || {};
  if (data.type === 'refresh-actors') {
    event.waitUntil(refreshActors());
  } else if (data.type === 'forget-pages') {
    // Signing out: the kept pages hold the session's form token.
    event.waitUntil(caches.delete(PAGES_CACHE));
  }
});
