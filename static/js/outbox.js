// The outbox: incidents logged on this device wait in IndexedDB until the
// server has them, and are sent exactly once (issue 13, "Offline").
//
// - The new-incident form (#incident-form posting to /incidents/new) is
//   caught on submit: its fields become the JSON the API takes, with a
//   client id (crypto.randomUUID()) that goes as the Idempotency-Key; the
//   item is stored (waiting) before anything is sent, then sent at once.
//   201: the incident's page. 422 at once, online: the item goes and the
//   form is posted as without JavaScript, so the server shows its errors
//   beside the fields. No network or 5xx: it waits (the form says so).
// - Later sends (page load, `online`, every few minutes, "Enviar ahora"):
//   one item at a time, in the order saved, under a lock shared by the
//   tabs (navigator.locks, else a lease in IndexedDB); a network error or
//   5xx waits 30 s, then twice as long each time up to 15 min; 401/403
//   keeps the item and asks to sign in again; 422 makes it "refused" with
//   the server's errors.
// - After the incident: the actor created on the spot (its own key), the
//   actor links, and the photos (each with its own key, `<item>.photo.<n>`,
//   so a photo whose answer was lost is not attached twice), each step
//   recorded so a retry resumes where it was. A photo the server refuses
//   (too large, not a photo) is noted on the item; the rest go on.
// Names and titles are only ever set as text.
(function () {
  'use strict';

  const DB_NAME = 'vigia-outbox';
  const ITEMS = 'items';
  const META = 'meta';
  const FIRST_WAIT = 30 * 1000;
  const LONGEST_WAIT = 15 * 60 * 1000;
  const EVERY = 3 * 60 * 1000;
  const me = (self.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random());

  if (!window.indexedDB) {
    return;
  }

  const texts = (document.getElementById('outbox-texts') || { dataset: {} }).dataset;

  // ------------------------------------------------------------ storage

  let opened = null;
  const db = () => {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          const d = request.result;
          if (!d.objectStoreNames.contains(ITEMS)) {
            d.createObjectStore(ITEMS, { keyPath: 'id' });
          }
          if (!d.objectStoreNames.contains(META)) {
            d.createObjectStore(META);
          }
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return opened;
  };

  // Runs `work(store)` in one transaction; resolves with what it returns
  // once the transaction has committed.
  const withStore = (name, mode, work) =>
    db().then(
      (d) =>
        new Promise((resolve, reject) => {
          const tx = d.transaction(name, mode);
          let result;
          Promise.resolve(work(tx.objectStore(name))).then((r) => {
            result = r;
          });
          tx.oncomplete = () => resolve(result);
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error);
        })
    );

  const asPromise = (request) =>
    new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });

  const all = () =>
    withStore(ITEMS, 'readonly', (s) => asPromise(s.getAll())).then((items) =>
      (items || []).sort((a, b) => a.created_at - b.created_at)
    );
  const get = (id) => withStore(ITEMS, 'readonly', (s) => asPromise(s.get(id)));
  const put = (item) => withStore(ITEMS, 'readwrite', (s) => { s.put(item); });
  const remove = (id) => withStore(ITEMS, 'readwrite', (s) => { s.delete(id); });
  const getMeta = (key) => withStore(META, 'readonly', (s) => asPromise(s.get(key)));
  const setMeta = (key, value) => withStore(META, 'readwrite', (s) => { s.put(value, key); });

  // Still to do for this item: the incident, or a step after it.
  const pending = (item) => item.status === 'waiting' || (item.status === 'sent' && !item.done);

  // ------------------------------------------------- telling the pages

  const channel = window.BroadcastChannel ? new BroadcastChannel('vigia-outbox') : null;
  const changed = () => {
    window.dispatchEvent(new CustomEvent('vigia-outbox-changed'));
    if (channel) {
      channel.postMessage('changed');
    }
  };
  if (channel) {
    channel.onmessage = () => window.dispatchEvent(new CustomEvent('vigia-outbox-changed'));
  }

  const badge = document.getElementById('outbox-badge');
  const showCount = () =>
    all()
      .then((items) => {
        if (!badge) {
          return;
        }
        return currentUser().then((user) => {
          const n = items.filter((i) => pending(i) && mine(i, user)).length;
          badge.textContent = (badge.dataset.label || '{n}').replace('{n}', String(n));
          badge.hidden = n === 0;
        });
      })
      .catch(() => undefined);
  // Counted again at most every quarter of a second, however many items
  // change meanwhile.
  let countSoon = null;
  window.addEventListener('vigia-outbox-changed', () => {
    if (!countSoon) {
      countSoon = setTimeout(() => {
        countSoon = null;
        showCount();
      }, 250);
    }
  });

  // ---------------------------------------------------------- the lock

  // One sender at a time across tabs. `wait`: wait for the other tab
  // rather than give up.
  const withLock = async (wait, work) => {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request('vigia-outbox-send', wait ? {} : { ifAvailable: true }, (lock) =>
        lock ? work() : 'busy'
      );
    }
    const take = () =>
      withStore(META, 'readwrite', (s) =>
        asPromise(s.get('lease')).then((lease) => {
          if (!lease || lease.until < Date.now() || lease.owner === me) {
            s.put({ owner: me, until: Date.now() + 60 * 1000 }, 'lease');
            return true;
          }
          return false;
        })
      );
    let got = await take();
    for (let i = 0; wait && !got && i < 120; i += 1) {
      await new Promise((r) => setTimeout(r, 500));
      got = await take();
    }
    if (!got) {
      return 'busy';
    }
    try {
      return await work();
    } finally {
      await withStore(META, 'readwrite', (s) =>
        asPromise(s.get('lease')).then((lease) => {
          if (lease && lease.owner === me) {
            s.delete('lease');
          }
        })
      );
    }
  };

  // ----------------------------------------------------------- sending

  // The session's form token, fresh (a kept page may hold an old one).
  // null: not signed in. Throws without a network.
  const sessionToken = async () => {
    const response = await fetch('/offline/session.json', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    const type = response.headers.get('Content-Type') || '';
    if (!response.ok || response.redirected || type.indexOf('json') === -1) {
      return null;
    }
    const session = await response.json();
    if (!session.csrf) {
      return null;
    }
    await setMeta('user', session.user);
    return session.csrf;
  };

  // Items are sent, counted and listed only for the person who saved them
  // (a shared phone: another person's session never sends them).
  const mine = (item, user) => !item.owner || !user || item.owner === user;
  const currentUser = () => getMeta('user').catch(() => undefined);

  const post = async (path, body, csrf, key) => {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf };
    if (key) {
      headers['Idempotency-Key'] = key;
    }
    const response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers,
      body: JSON.stringify(body),
    });
    let json = null;
    try {
      json = await response.json();
    } catch (e) {
      json = null;
    }
    return { status: response.status, json };
  };

  const upload = async (path, photo, csrf, key) => {
    const data = new FormData();
    data.append('file', photo.blob, photo.name);
    const response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRF-Token': csrf, 'Idempotency-Key': key },
      body: data,
    });
    let json = null;
    try {
      json = await response.json();
    } catch (e) {
      json = null;
    }
    return { status: response.status, json };
  };

  const errorsOf = (json) =>
    json && Array.isArray(json.errors) && json.errors.length
      ? json.errors.map((e) => ({
        field: String(e.field || ''),
        message: String(e.message || ''),
        code: String(e.code || '')
      }))
      : [{ field: '', message: String((json && (json.detail || json.title)) || '') }];

  // What one answer means: 'ok', 'refused', 'auth' or 'retry'.
  const meaning = (status) => {
    if (status >= 200 && status < 300) {
      return 'ok';
    }
    if (status === 401 || status === 403) {
      return 'auth';
    }
    if (status === 422 || status === 400 || status === 404 || status === 413 || status === 415) {
      return 'refused';
    }
    return 'retry'; // 409 (the first request still running), 5xx, …
  };

  // Sends what is left of one item; records each step. Returns 'sent',
  // 'refused', 'auth' or 'retry'.
  const sendItem = async (item, csrf) => {
    if (!item.incident_id) {
      const answer = await post('/api/v1/events', item.body, csrf, item.id);
      const m = meaning(answer.status);
      if (m === 'refused') {
        item.status = 'refused';
        item.errors = errorsOf(answer.json);
        await put(item);
        return 'refused';
      }
      if (m !== 'ok') {
        return m;
      }
      item.incident_id = answer.json.id;
      item.status = 'sent';
      item.sent_at = Date.now();
      item.done = false;
      await put(item);
      changed();
    }
    const event = '/api/v1/events/' + encodeURIComponent(item.incident_id) + '/actors';
    const na = item.new_actor;
    if (na && !na.done) {
      if (!na.actor_id) {
        const answer = await post('/api/v1/actors', { name: na.name, kind: na.kind }, csrf, item.id + '.actor');
        const m = meaning(answer.status);
        if (m === 'ok') {
          na.actor_id = answer.json.id;
        } else if (m === 'refused') {
          na.done = true;
          item.step_errors = (item.step_errors || []).concat(errorsOf(answer.json));
        } else {
          return m;
        }
        await put(item);
      }
      if (!na.done) {
        const m = await linkStep(event, { actor_id: na.actor_id, role: na.role, attribution: na.attribution }, csrf, item);
        if (m !== 'ok') {
          return m;
        }
        na.done = true;
        await put(item);
      }
    }
    for (const link of item.actors) {
      if (!link.done) {
        const m = await linkStep(event, { actor_id: link.actor_id, role: link.role, attribution: link.attribution }, csrf, item);
        if (m !== 'ok') {
          return m;
        }
        link.done = true;
        await put(item);
      }
    }
    const photos = item.photos || [];
    for (let n = 0; n < photos.length; n += 1) {
      const photo = photos[n];
      if (photo.done) {
        continue;
      }
      const path = '/api/v1/events/' + encodeURIComponent(item.incident_id) + '/attachments';
      const answer = await upload(path, photo, csrf, item.id + '.photo.' + n);
      const m = meaning(answer.status);
      if (m === 'refused') {
        item.step_errors = (item.step_errors || []).concat(
          errorsOf(answer.json).map((e) => Object.assign(e, { field: photo.name }))
        );
      } else if (m !== 'ok') {
        return m;
      }
      photo.done = true;
      photo.blob = null; // Sent: the device need not keep it.
      await put(item);
    }
    item.done = true;
    await put(item);
    return 'sent';
  };

  // A link is done twice without harm (the server replaces it).
  const linkStep = async (path, body, csrf, item) => {
    const answer = await post(path, body, csrf);
    const m = meaning(answer.status);
    if (m === 'refused') {
      item.step_errors = (item.step_errors || []).concat(errorsOf(answer.json));
      return 'ok';
    }
    return m;
  };

  const later = async (item) => {
    item.attempts = (item.attempts || 0) + 1;
    item.next_try = Date.now() + Math.min(FIRST_WAIT * Math.pow(2, item.attempts - 1), LONGEST_WAIT);
    item.last_error = 'retry';
    await put(item);
  };

  // Sends what is due (`force`: everything waiting, whatever its backoff;
  // `only`: that item only). Returns the last item's outcome.
  const run = (options) => {
    const o = options || {};
    return withLock(Boolean(o.wait), async () => {
      let outcome = 'idle';
      let csrf;
      try {
        csrf = await sessionToken();
      } catch (e) {
        csrf = undefined; // No network: the due items wait longer.
      }
      const user = await currentUser();
      const due = (await all()).filter(
        (i) => mine(i, user)
      ).filter(
        (i) => pending(i) && (!o.only || i.id === o.only) && (o.force || o.only || !i.next_try || i.next_try <= Date.now())
      );
      if (due.length === 0) {
        return outcome;
      }
      if (csrf === undefined) {
        for (const i of due) {
          await later(i);
        }
        changed();
        return 'retry';
      }
      if (!csrf) {
        await setMeta('auth', true);
        changed();
        return 'auth';
      }
      await setMeta('auth', false);
      for (const listed of due) {
        // Read again under the lock: another tab may have sent it.
        const item = await get(listed.id);
        if (!item || !pending(item)) {
          continue;
        }
        try {
          outcome = await sendItem(item, csrf);
        } catch (e) {
          outcome = 'retry';
        }
        if (outcome === 'sent') {
          item.last_error = null;
          await put(item);
        } else if (outcome === 'retry') {
          await later(item);
        } else if (outcome === 'auth') {
          await setMeta('auth', true);
        }
        changed();
        if (outcome === 'retry' || outcome === 'auth') {
          break; // No network, or no session: the others would fare no better.
        }
      }
      return outcome;
    });
  };

  const persist = () => {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(() => undefined);
    }
  };

  window.VigiaOutbox = {
    all,
    get,
    put,
    remove,
    run,
    pending,
    needsSignIn: () => getMeta('auth').then(Boolean),
    currentUser,
    mine,
    changed,
    persist,
  };

  // ----------------------------------------------------------- triggers

  const runQuietly = (o) => run(o).catch(() => undefined);
  // Back online: wait for a run still under way (it may have started
  // offline) rather than skip.
  window.addEventListener('online', () => runQuietly({ force: true, wait: true }));
  setInterval(() => runQuietly({}), EVERY);
  document.addEventListener('DOMContentLoaded', () => {
    showCount();
    runQuietly({});
  });
  showCount();
  window.VigiaOutboxTexts = texts;
})();
