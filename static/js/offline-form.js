// The new-incident form through the outbox (outbox.js): saved on this
// device first, then sent; without a network it waits there. Editing an
// incident stays online only (the form posting elsewhere is left alone).
// `/incidents/new?outbox=<id>` opens a refused item again to fix it.
(function () {
  'use strict';

  const form = document.getElementById('incident-form');
  const outbox = window.VigiaOutbox;
  if (!form || !outbox || form.getAttribute('action') !== '/incidents/new' || !window.crypto || !crypto.randomUUID) {
    return;
  }
  const texts = window.VigiaOutboxTexts || {};
  const SINGLE = ['title', 'description', 'event_type', 'sub_event_type', 'occurred_on', 'time_precision',
    'lat', 'lon', 'location_precision', 'place', 'fatalities', 'injuries', 'verification',
    'new_actor_name', 'new_actor_kind', 'new_actor_role', 'new_actor_attribution'];
  const FIELD_OF = { 'location.lat': 'lat', 'location.lon': 'lon', 'location.place': 'place', location: 'lat',
    'new_actor.name': 'new_actor_name' };

  // A message above the form (text only).
  const box = document.createElement('div');
  box.className = 'outbox-message';
  box.setAttribute('role', 'status');
  box.setAttribute('tabindex', '-1');
  box.hidden = true;
  form.parentNode.insertBefore(box, form);
  const say = (kind, text, link) => {
    box.textContent = '';
    box.className = 'outbox-message ' + (kind === 'error' ? 'error' : 'notice');
    const p = document.createElement('p');
    p.textContent = text || '';
    box.appendChild(p);
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      box.appendChild(a);
    }
    box.hidden = false;
    box.focus();
  };

  const mark = (id, message) => {
    const field = document.getElementById(id);
    if (!field) {
      return;
    }
    field.setAttribute('aria-invalid', 'true');
    const holder = field.closest('.field');
    if (holder && message) {
      let span = holder.querySelector('.field-error.from-outbox');
      if (!span) {
        span = document.createElement('span');
        span.className = 'field-error from-outbox';
        span.id = id + '-outbox-error';
        holder.appendChild(span);
        field.setAttribute('aria-describedby', ((field.getAttribute('aria-describedby') || '') + ' ' + span.id).trim());
      }
      span.textContent = message;
      holder.classList.add('invalid');
    }
  };
  const clearMarks = () => {
    form.querySelectorAll('.field-error.from-outbox').forEach((span) => {
      const holder = span.closest('.field');
      if (holder) {
        holder.classList.remove('invalid');
      }
      span.remove();
    });
    form.querySelectorAll('[aria-invalid=true]').forEach((f) => f.removeAttribute('aria-invalid'));
  };

  // The form's fields as the API's JSON, as the server reads the form
  // (IncidentForm::into_whole in src/web/incidents.rs).
  const build = () => {
    const data = new FormData(form);
    const one = (n) => String(data.get(n) || '').trim();
    const many = (n) => data.getAll(n).map((v) => String(v).trim());
    const some = (t) => (t === '' ? undefined : t);
    const bad = [];
    const number = (n) => {
      const text = one(n).replace(/,/g, '.');
      if (text === '') {
        return undefined;
      }
      const value = Number(text);
      if (!isFinite(value)) {
        bad.push(n);
        return undefined;
      }
      return value;
    };
    const lat = number('lat');
    const lon = number('lon');
    const whole = (n) => (n === undefined ? undefined : Math.round(Math.max(-1e9, Math.min(1e9, n))));
    const fatalities = whole(number('fatalities'));
    const injuries = whole(number('injuries'));
    const publishers = many('source_publisher');
    const titles = many('source_title');
    const urls = many('source_url');
    const dates = many('source_published_on');
    const confidential = many('source_confidential');
    const n = Math.min(100, Math.max(publishers.length, titles.length, urls.length, dates.length));
    const sources = [];
    for (let i = 0; i < n; i += 1) {
      const row = { publisher: publishers[i] || '', title: titles[i] || '', url: urls[i] || '', published_on: dates[i] || '' };
      if (row.publisher || row.title || row.url || row.published_on) {
        sources.push({ publisher: some(row.publisher), title: some(row.title), url: some(row.url), published_on: some(row.published_on), confidential: confidential[i] === 'yes' });
      }
    }
    const ids = many('actor_id');
    const roles = many('actor_role');
    const attributions = many('actor_attribution');
    const actors = [];
    ids.slice(0, 100).forEach((id, i) => {
      if (id) {
        actors.push({ actor_id: id, role: roles[i] || 'participant', attribution: attributions[i] || 'alleged', done: false });
      }
    });
    // Photos wait in IndexedDB as they are (Blobs); the server takes their
    // location out when they arrive.
    const photos = data
      .getAll('photos')
      .filter((f) => f instanceof Blob && f.size > 0)
      .slice(0, 10)
      .map((f) => ({ name: String(f.name || 'foto.jpg'), type: String(f.type || ''), bytes: f.size, blob: f, done: false }));
    // A photo the server would refuse for its size is said now, not after
    // it waited on the phone.
    const input = document.getElementById('photos');
    const max = input ? Number(input.dataset.maxBytes) || 0 : 0;
    const tooLarge = max ? photos.filter((p) => p.bytes > max).map((p) => p.name) : [];
    const newName = one('new_actor_name');
    const body = {
      title: some(one('title')),
      description: some(one('description')),
      event_type: some(one('event_type')),
      sub_event_type: some(one('sub_event_type')),
      occurred_on: some(one('occurred_on')),
      time_precision: some(one('time_precision')),
      location:
        lat === undefined && lon === undefined
          ? undefined
          : { lat: lat === undefined ? null : lat, lon: lon === undefined ? null : lon, precision: some(one('location_precision')), place: some(one('place')) },
      fatalities,
      injuries,
      sources: sources.length ? sources : undefined,
      verification: some(one('verification')),
    };
    const fields = [];
    data.forEach((value, name) => {
      if (name !== 'csrf' && name !== 'version' && typeof value === 'string') {
        fields.push([name, value]);
      }
    });
    return {
      bad,
      tooLarge,
      item: {
        title: one('title'),
        body: JSON.parse(JSON.stringify(body)),
        actors,
        new_actor: newName
          ? { name: newName, kind: one('new_actor_kind') || 'other', role: one('new_actor_role') || 'participant',
            attribution: one('new_actor_attribution') || 'alleged', actor_id: null, done: false }
          : null,
        photos,
        fields,
      },
    };
  };

  const buttons = () => Array.prototype.slice.call(form.querySelectorAll('button[type=submit]'));
  const postNatively = () => HTMLFormElement.prototype.submit.call(form);

  // Back to an empty form once the incident is kept on the device.
  const emptyForm = () => {
    form.reset();
    form.querySelectorAll('#actor-rows tbody tr, #source-rows [data-row]').forEach((row) => row.remove());
  };

  const fixing = new URLSearchParams(window.location.search).get('outbox');
  // The photos of the refused item being fixed: they go with the new one.
  let carried = [];
  let busy = false;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) {
      return; // A second click while the first is under way.
    }
    busy = true;
    buttons().forEach((b) => { b.disabled = true; });
    let leaving = false;
    try {
      clearMarks();
      const built = build();
      if (built.tooLarge.length) {
        const input = document.getElementById('photos');
        const mb = String(Math.floor(Number(input.dataset.maxBytes) / (1024 * 1024)));
        const text = (input.dataset.labelTooLarge || '').replace('{name}', built.tooLarge.join(', ')).replace('{mb}', mb);
        mark('photos', text);
        say('error', texts.checkFields);
        return;
      }
      if (built.bad.length) {
        if (navigator.onLine) {
          leaving = true;
          postNatively(); // The server says what is wrong, beside each field.
          return;
        }
        built.bad.forEach((n) => mark(n, texts.notANumber));
        say('error', texts.checkFields);
        return;
      }
      if (!navigator.onLine && !form.checkValidity()) {
        form.reportValidity();
        return;
      }
      built.item.photos = built.item.photos.concat(carried).slice(0, 10);
      const item = Object.assign(built.item, {
        id: crypto.randomUUID(),
        status: 'waiting',
        created_at: Date.now(),
        attempts: 0,
        next_try: 0,
        incident_id: null,
        done: false,
        owner: await outbox.currentUser(),
      });
      await outbox.put(item);
      if (fixing) {
        await outbox.remove(fixing); // The refused one, now replaced.
      }
      outbox.persist();
      outbox.changed();
      say('notice', texts.sending);
      let outcome;
      try {
        outcome = await outbox.run({ only: item.id, wait: true });
      } catch (e) {
        outcome = 'retry';
      }
      const now = await outbox.get(item.id);
      if (now && now.incident_id) {
        leaving = true;
        window.location.assign('/incidents/' + encodeURIComponent(now.incident_id) + '?saved=1');
        return;
      }
      if (now && now.status === 'refused') {
        // Online and refused at once: as without JavaScript.
        await outbox.remove(item.id);
        outbox.changed();
        leaving = true;
        postNatively();
        return;
      }
      emptyForm();
      if (outcome === 'auth') {
        say('error', texts.signInAgain, { href: '/sign-in?next=/envios', text: texts.signIn });
      } else {
        const nav = document.querySelector('nav a[href="/envios"]');
        say('notice', navigator.onLine ? texts.tryFailed : texts.savedOffline, { href: '/envios', text: nav ? nav.textContent : '/envios' });
      }
    } finally {
      if (!leaving) {
        busy = false;
        buttons().forEach((b) => { b.disabled = false; });
      }
    }
  });

  // ---------------------------------------- a refused item, to fix

  const setField = (name, value) => {
    const field = form.elements.namedItem(name);
    if (field && !(field instanceof RadioNodeList)) {
      field.value = value;
      field.dispatchEvent(new Event('input', { bubbles: true }));
      field.dispatchEvent(new Event('change', { bubbles: true }));
    }
  };

  const restore = async () => {
    const item = await outbox.get(fixing);
    if (!item) {
      return;
    }
    carried = (item.photos || []).filter((p) => p.blob && !p.done);
    const values = {};
    item.fields.forEach(([name, value]) => {
      (values[name] = values[name] || []).push(value);
    });
    SINGLE.forEach((name) => {
      if (values[name]) {
        setField(name, values[name][0]);
      }
    });
    const adder = form.querySelector('[data-add-row="source-row-template"]');
    const sources = (values.source_publisher || []).length;
    for (let i = 0; i < sources && adder; i += 1) {
      adder.click();
    }
    const rows = form.querySelectorAll('#source-rows [data-row]');
    ['source_publisher', 'source_title', 'source_url', 'source_published_on', 'source_confidential'].forEach((name) => {
      (values[name] || []).forEach((value, i) => {
        const input = rows[i] && rows[i].querySelector('[name="' + name + '"]');
        if (input) {
          input.value = value;
        }
      });
    });
    const template = document.getElementById('actor-row-template');
    const table = document.getElementById('actor-rows');
    (values.actor_id || []).forEach((id, i) => {
      if (!template || !table || !window.VigiaRows) {
        return;
      }
      const row = window.VigiaRows.append(template, table);
      const set = (selector, value) => {
        const el = row.querySelector(selector);
        if (el) {
          el.value = value;
        }
      };
      set('input[name=actor_id]', id);
      set('input[name=actor_name]', (values.actor_name || [])[i] || '');
      set('select[name=actor_role]', (values.actor_role || [])[i] || 'participant');
      set('select[name=actor_attribution]', (values.actor_attribution || [])[i] || 'alleged');
      const shown = row.querySelector('.actor-name');
      if (shown) {
        shown.textContent = (values.actor_name || [])[i] || '';
      }
    });
    const lines = (item.errors || []).map((e) => (e.field ? e.field + ': ' : '') + e.message);
    say('error', [texts.fixLoaded].concat(lines).join(' '));
    (item.errors || []).forEach((e) => mark(FIELD_OF[e.field] || e.field, e.message));
  };

  if (fixing) {
    document.addEventListener('DOMContentLoaded', () => {
      restore().catch(() => undefined);
    });
  }
})();
