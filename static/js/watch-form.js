// The watch form ("Nueva alerta"): only the chosen target's fields are
// shown; a concession or a holder is found as you type (ARIA combobox over
// the JSON API, as actor-picker.js does), the concession drawn on a small
// map with its holder; region → province → district selects fill the
// ubigeo; an area is drawn and edited on a map with Leaflet-Geoman, which
// writes it into the GeoJSON field the server reads. Without this script
// every field is shown and the form works the same.
//
// Page contract: templates/watch_form.html, after leaflet.js and
// leaflet-geoman.min.js. Text from the API is set with textContent only;
// no inline style is written (the page's CSP forbids it).
(function () {
  'use strict';

  const form = document.getElementById('watch-form');
  if (!form) {
    return;
  }
  const PERU = window.L ? L.latLngBounds([-18.4, -81.4], [-0.03, -68.6]) : null;
  const DEBOUNCE_MS = 200;
  const LIMIT = 10;

  const getJson = (url, signal) =>
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal })
      .then((r) => (r.ok ? r.json() : null));

  // ---------------------------------------------------------- the target

  const fieldsets = Array.prototype.slice.call(form.querySelectorAll('fieldset.watch-target'));
  const radios = Array.prototype.slice.call(form.querySelectorAll('input[name=target_type]'));
  const onShow = {};
  const showChosen = () => {
    const chosen = radios.find((r) => r.checked);
    const kind = chosen ? chosen.value : '';
    fieldsets.forEach((f) => {
      f.hidden = f.dataset.kind !== kind;
    });
    if (onShow[kind]) {
      onShow[kind]();
    }
  };
  radios.forEach((r) => r.addEventListener('change', showChosen));

  // --------------------------------------------------- a type-ahead list

  // Makes `input` a combobox over suggestions from `fetchItems(text,
  // signal)`; `describe(item)` is an option's text, `pick(item)` what
  // choosing does.
  const combobox = (input, fetchItems, describe, pick) => {
    const listbox = document.createElement('ul');
    listbox.id = input.id + '-listbox';
    listbox.className = 'actor-suggestions';
    listbox.setAttribute('role', 'listbox');
    listbox.hidden = true;
    input.insertAdjacentElement('afterend', listbox);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', listbox.id);
    input.setAttribute('autocomplete', 'off');
    if (input.labels && input.labels[0]) {
      input.labels[0].id = input.labels[0].id || input.id + '-label';
      listbox.setAttribute('aria-labelledby', input.labels[0].id);
    }
    let found = [];
    let active = -1;
    let timer = null;
    let inFlight = null;
    const options = () => Array.prototype.slice.call(listbox.querySelectorAll('[role=option]:not([aria-disabled=true])'));
    const close = () => {
      listbox.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    };
    const setActive = (index) => {
      const all = options();
      if (all.length === 0) {
        return;
      }
      active = (index + all.length) % all.length;
      all.forEach((el, i) => {
        el.setAttribute('aria-selected', i === active ? 'true' : 'false');
        el.classList.toggle('is-active', i === active);
      });
      input.setAttribute('aria-activedescendant', all[active].id);
    };
    const show = (items) => {
      found = items;
      listbox.textContent = '';
      active = -1;
      if (items.length === 0) {
        const none = document.createElement('li');
        none.setAttribute('role', 'option');
        none.setAttribute('aria-disabled', 'true');
        none.className = 'actor-suggestion actor-suggestion--none';
        none.textContent = input.dataset.labelNone || '';
        listbox.appendChild(none);
      }
      items.forEach((item, i) => {
        const option = document.createElement('li');
        option.id = listbox.id + '-' + i;
        option.setAttribute('role', 'option');
        option.setAttribute('aria-selected', 'false');
        option.className = 'actor-suggestion';
        option.dataset.index = String(i);
        option.textContent = describe(item);
        listbox.appendChild(option);
      });
      listbox.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    };
    const search = (text) => {
      if (inFlight) {
        inFlight.abort();
      }
      const controller = new AbortController();
      inFlight = controller;
      fetchItems(text, controller.signal)
        .then((items) => {
          if (input.value.trim() === text) {
            show(items || []);
          }
        })
        .catch((e) => {
          if (!e || e.name !== 'AbortError') {
            close();
          }
        });
    };
    const choose = (item) => {
      close();
      pick(item);
    };
    input.addEventListener('input', () => {
      clearTimeout(timer);
      const text = input.value.trim();
      if (text === '') {
        close();
        return;
      }
      timer = setTimeout(() => search(text), DEBOUNCE_MS);
    });
    input.addEventListener('keydown', (e) => {
      const open = !listbox.hidden;
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        if (open) {
          setActive(active + 1);
        } else if (input.value.trim()) {
          search(input.value.trim());
        }
      } else if (e.key === 'ArrowUp' && open) {
        e.preventDefault();
        setActive(active - 1);
      } else if (e.key === 'Enter' && open) {
        e.preventDefault();
        const all = options();
        const chosen = active >= 0 ? all[active] : all.length === 1 ? all[0] : null;
        if (chosen) {
          choose(found[Number(chosen.dataset.index)]);
        }
      } else if (e.key === 'Escape' && open) {
        e.preventDefault();
        close();
      }
    });
    listbox.addEventListener('mousedown', (e) => e.preventDefault());
    listbox.addEventListener('click', (e) => {
      const option = e.target.closest('[role=option]');
      if (option && option.getAttribute('aria-disabled') !== 'true') {
        choose(found[Number(option.dataset.index)]);
      }
    });
    input.addEventListener('blur', () => setTimeout(close, 150));
  };

  const baseMap = (container) => {
    const map = L.map(container, { maxZoom: 18, minZoom: 2 });
    const data = container.dataset;
    if (data.tileUrl) {
      L.tileLayer(data.tileUrl, { maxZoom: 18, attribution: '' }).addTo(map);
      if (data.tileAttribution) {
        map.attributionControl.addAttribution(
          String(data.tileAttribution).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';'));
      }
    }
    map.fitBounds(PERU);
    return map;
  };

  // ------------------------------------------------------- a concession

  const codeInput = document.getElementById('concession_code');
  const chosenOut = document.getElementById('concession-chosen');
  const concessionMapBox = document.getElementById('concession-map');
  if (codeInput && chosenOut) {
    let map = null;
    let outline = null;
    const describe = (c) => c.code + ' — ' + c.name + (c.holder ? ' (' + c.holder.name + ')' : '');
    const showConcession = (c) => {
      chosenOut.textContent = describe(c);
      if (!window.L || !concessionMapBox || !c.geometry) {
        return;
      }
      concessionMapBox.hidden = false;
      if (!map) {
        map = baseMap(concessionMapBox);
      }
      map.invalidateSize();
      if (outline) {
        outline.remove();
      }
      outline = L.geoJSON(c.geometry, { style: { className: 'map-concession', weight: 2 } }).addTo(map);
      map.fitBounds(outline.getBounds(), { maxZoom: 14 });
    };
    combobox(
      codeInput,
      // A code typed whole comes first: words of a code also occur inside
      // other concessions' names ("LC" in "ALCONES").
      (text, signal) =>
        Promise.all([
          getJson('/api/v1/concessions?code=' + encodeURIComponent(text) + '&limit=1', signal),
          getJson('/api/v1/concessions?q=' + encodeURIComponent(text) + '&limit=' + LIMIT, signal)
        ]).then(([exact, found]) => {
          const first = (exact && exact.items) || [];
          const rest = ((found && found.items) || []).filter((c) => !first.some((e) => e.id === c.id));
          return first.concat(rest).slice(0, LIMIT);
        }),
      describe,
      (c) => {
        codeInput.value = c.code;
        showConcession(c);
      }
    );
    codeInput.addEventListener('input', () => {
      chosenOut.textContent = '';
    });
    // A form shown again (a preview, an error, an edit) names its concession.
    const typed = codeInput.value.trim();
    if (typed) {
      getJson('/api/v1/concessions?code=' + encodeURIComponent(typed) + '&limit=1')
        .then((page) => {
          if (page && page.items && page.items[0] && codeInput.value.trim() === typed) {
            showConcession(page.items[0]);
          }
        })
        .catch(() => {});
    }
    onShow.concession = () => {
      if (map) {
        map.invalidateSize();
      }
    };
  }

  // ---------------------------------------------------------- a holder

  const holderInput = document.getElementById('holder_name');
  const holderId = document.getElementById('holder_id');
  if (holderInput && holderId) {
    combobox(
      holderInput,
      (text, signal) =>
        getJson('/api/v1/actors?q=' + encodeURIComponent(text) + '&limit=' + LIMIT, signal)
          .then((page) => (page ? page.items : [])),
      (a) => {
        const aliases = (a.aliases || []).filter((x) => x && x !== a.name);
        return aliases.length ? a.name + ' (' + aliases.join(', ') + ')' : a.name;
      },
      (a) => {
        holderInput.value = a.name;
        holderId.value = a.id;
      }
    );
    // A name typed anew is not the holder picked before.
    holderInput.addEventListener('input', () => {
      holderId.value = '';
    });
  }

  // ------------------------------------ region → province → district

  const selects = document.getElementById('admin-selects');
  const ubigeo = document.getElementById('ubigeo');
  const region = document.getElementById('pick-region');
  const province = document.getElementById('pick-province');
  const district = document.getElementById('pick-district');
  if (selects && ubigeo && region && province && district) {
    let places = null;
    const whole = selects.dataset.labelWhole || '';
    const fill = (select, entries, chosen) => {
      select.textContent = '';
      const blank = document.createElement('option');
      blank.value = '';
      blank.textContent = select === region ? '' : whole;
      select.appendChild(blank);
      entries.forEach(([code, name]) => {
        const option = document.createElement('option');
        option.value = code;
        option.textContent = name;
        option.selected = code === chosen;
        select.appendChild(option);
      });
      select.disabled = entries.length === 0;
    };
    const unique = (prefixLength, nameOf, within) => {
      const seen = new Map();
      places
        .filter((p) => p.ubigeo.startsWith(within))
        .forEach((p) => {
          const code = p.ubigeo.slice(0, prefixLength);
          if (!seen.has(code)) {
            seen.set(code, nameOf(p));
          }
        });
      return Array.from(seen.entries()).sort((a, b) => a[1].localeCompare(b[1]));
    };
    const render = () => {
      const code = ubigeo.value.trim();
      fill(region, unique(2, (p) => p.region, ''), code.slice(0, 2));
      const r = region.value;
      fill(province, r ? unique(4, (p) => p.province, r) : [], code.slice(0, 4));
      const p = province.value;
      fill(district, p ? unique(6, (d) => d.district, p) : [], code.slice(0, 6));
    };
    const load = () => {
      if (places) {
        return;
      }
      places = [];
      getJson('/offline/districts.json')
        .then((data) => {
          places = (data && data.items) || [];
          if (places.length) {
            selects.hidden = false;
            render();
          }
        })
        .catch(() => {});
    };
    region.addEventListener('change', () => {
      ubigeo.value = region.value;
      render();
    });
    province.addEventListener('change', () => {
      ubigeo.value = province.value || region.value;
      render();
    });
    district.addEventListener('change', () => {
      ubigeo.value = district.value || province.value;
    });
    ubigeo.addEventListener('change', () => {
      if (places && places.length) {
        render();
      }
    });
    onShow.admin_area = load;
  }

  // ------------------------------------------------- an area, drawn

  const areaBox = document.getElementById('area-map');
  const areaText = document.getElementById('area');
  if (areaBox && areaText && window.L && L.PM) {
    let map = null;
    const drawn = () => map.pm.getGeomanLayers().filter((l) => l instanceof L.Polygon);
    // The drawn shapes as one GeoJSON geometry in the field.
    const write = () => {
      const polygons = drawn().map((l) => l.toGeoJSON(6).geometry);
      if (polygons.length === 0) {
        areaText.value = '';
      } else if (polygons.length === 1) {
        areaText.value = JSON.stringify(polygons[0]);
      } else {
        const coordinates = [];
        polygons.forEach((g) => {
          if (g.type === 'Polygon') {
            coordinates.push(g.coordinates);
          } else {
            g.coordinates.forEach((c) => coordinates.push(c));
          }
        });
        areaText.value = JSON.stringify({ type: 'MultiPolygon', coordinates });
      }
    };
    const watchLayer = (layer) => {
      layer.on('pm:edit pm:dragend pm:cut', write);
    };
    const start = () => {
      if (map) {
        map.invalidateSize();
        return;
      }
      areaBox.hidden = false;
      map = baseMap(areaBox);
      map.pm.setLang(areaBox.dataset.lang === 'en' ? 'en' : 'es');
      map.pm.addControls({
        position: 'topleft',
        drawMarker: false,
        drawCircleMarker: false,
        drawPolyline: false,
        drawCircle: false,
        drawText: false,
        drawPolygon: true,
        drawRectangle: true,
        editMode: true,
        dragMode: true,
        cutPolygon: false,
        removalMode: true,
        rotateMode: false
      });
      map.pm.setGlobalOptions({ allowSelfIntersection: false });
      // Geoman's buttons are links holding only an icon; their container's
      // title (in the page's language) names them for screen readers.
      areaBox.querySelectorAll('.leaflet-buttons-control-button').forEach((button) => {
        const holder = button.closest('[title]');
        if (holder && !button.getAttribute('aria-label')) {
          button.setAttribute('aria-label', holder.getAttribute('title'));
        }
      });
      // An area shown again (a preview, an error, an edit) is editable.
      try {
        const text = areaText.value.trim();
        if (text) {
          const shown = L.geoJSON(JSON.parse(text));
          shown.eachLayer((layer) => {
            layer.addTo(map);
            watchLayer(layer);
          });
          if (shown.getLayers().length) {
            map.fitBounds(shown.getBounds(), { maxZoom: 14 });
          }
        }
      } catch (e) {
        // Not GeoJSON: the server says so next to the field.
      }
      map.on('pm:create', (e) => {
        watchLayer(e.layer);
        write();
      });
      map.on('pm:remove', write);
    };
    // A pasted geometry replaces the drawing.
    areaText.addEventListener('change', () => {
      if (!map) {
        return;
      }
      drawn().forEach((l) => l.remove());
      try {
        L.geoJSON(JSON.parse(areaText.value)).eachLayer((layer) => {
          layer.addTo(map);
          watchLayer(layer);
        });
      } catch (e) {
        // Shown by the server when sent.
      }
    });
    onShow.area = start;
  }

  showChosen();
})();
