// Find a district by name as you type, also with no network: the list of
// every district with a point inside it comes from /offline/districts.json,
// which the service worker keeps. Choosing one puts the point inside the
// district (the map follows: the lat/lon fields get input events), sets
// the precision to "approximate" and, if empty, the place text.
//
// Page contract: <p class="district-search" hidden> holding
// <input type="search" id="district-search" data-label-none="…">, and the
// form's #lat, #lon, #location_precision, #place. Without JavaScript the
// field stays hidden. Names are set as text only.
(function () {
  'use strict';

  const input = document.getElementById('district-search');
  const lat = document.getElementById('lat');
  const lon = document.getElementById('lon');
  if (!input || !lat || !lon) {
    return;
  }
  const LIMIT = 8;
  input.closest('.district-search').hidden = false;

  // Lower case, without accents: "Apurímac" is found by "apurim".
  const fold = (text) =>
    String(text || '')
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();

  let districts = null;
  const load = () => {
    if (!districts) {
      districts = fetch('/offline/districts.json', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then((r) => (r.ok ? r.json() : { items: [] }))
        .then((body) =>
          (body.items || []).map((d) => Object.assign(d, { key: fold([d.district, d.province, d.region].join(' ')) }))
        )
        .catch(() => {
          districts = null; // Try again on the next key.
          return [];
        });
    }
    return districts;
  };

  const listbox = document.createElement('ul');
  listbox.id = 'district-search-listbox';
  listbox.className = 'actor-suggestions';
  listbox.setAttribute('role', 'listbox');
  listbox.hidden = true;
  input.insertAdjacentElement('afterend', listbox);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', listbox.id);
  if (input.labels && input.labels[0]) {
    input.labels[0].id = input.labels[0].id || 'district-search-label';
    listbox.setAttribute('aria-labelledby', input.labels[0].id);
  }

  let found = [];
  let active = -1;

  const close = () => {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const name = (d) => d.district + ', ' + d.province + ', ' + d.region;

  const choose = (d) => {
    const set = (field, value) => {
      field.value = value;
      field.dispatchEvent(new Event('input', { bubbles: true }));
      field.dispatchEvent(new Event('change', { bubbles: true }));
    };
    set(lat, String(d.lat));
    set(lon, String(d.lon));
    const precision = document.getElementById('location_precision');
    if (precision) {
      set(precision, 'approximate');
    }
    const place = document.getElementById('place');
    if (place && !place.value.trim()) {
      set(place, name(d));
    }
    input.value = name(d);
    close();
  };

  const setActive = (index) => {
    const all = Array.prototype.slice.call(listbox.querySelectorAll('[role=option]:not([aria-disabled=true])'));
    if (all.length === 0) {
      return;
    }
    active = (index + all.length) % all.length;
    all.forEach((el, i) => el.setAttribute('aria-selected', i === active ? 'true' : 'false'));
    all.forEach((el, i) => el.classList.toggle('is-active', i === active));
    input.setAttribute('aria-activedescendant', all[active].id);
  };

  const show = async () => {
    const words = fold(input.value).split(/\s+/).filter(Boolean);
    if (words.length === 0 || words.join('').length < 2) {
      close();
      return;
    }
    const all = await load();
    found = all.filter((d) => words.every((w) => d.key.indexOf(w) !== -1)).slice(0, LIMIT);
    listbox.textContent = '';
    if (found.length === 0) {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.setAttribute('aria-disabled', 'true');
      li.id = 'district-option-none';
      li.className = 'actor-suggestion actor-suggestion--none';
      li.textContent = input.dataset.labelNone || '';
      listbox.appendChild(li);
    }
    found.forEach((d, i) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.id = 'district-option-' + i;
      li.className = 'actor-suggestion';
      li.setAttribute('aria-selected', 'false');
      li.textContent = name(d) + ' (' + d.ubigeo + ')';
      li.addEventListener('mousedown', (event) => {
        event.preventDefault(); // Keep the focus in the input.
        choose(d);
      });
      listbox.appendChild(li);
    });
    listbox.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    active = -1;
  };

  input.addEventListener('input', () => {
    show().catch(() => undefined);
  });
  input.addEventListener('focus', () => {
    load();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (listbox.hidden) {
        show().catch(() => undefined);
      } else {
        setActive(active + (event.key === 'ArrowDown' ? 1 : -1));
      }
    } else if (event.key === 'Enter' && !listbox.hidden && active >= 0 && found[active]) {
      event.preventDefault(); // Choosing is not saving the form.
      choose(found[active]);
    } else if (event.key === 'Escape') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
})();
