// The incident form's point: click the map, type latitude and longitude,
// or use the device's location; the district of the point is shown as soon
// as it changes, before saving.
//
// Page contract:
//   <div id="point-map" data-tile-url="… or empty" data-tile-attribution="plain text"
//        data-label-locating="…" data-label-no-district="…"
//        data-label-geolocation-failed="…" data-label-error="…"(optional)></div>
//   <input name="lat" id="lat"> <input name="lon" id="lon">
//   <button type="button" id="use-location">…</button>
//   <output id="district-of-point"></output>
// after leaflet.js. Text from the API is set with textContent only; no
// inline style is written (the page's CSP forbids it).
(function () {
  'use strict';

  const container = document.getElementById('point-map');
  const latInput = document.getElementById('lat');
  const lonInput = document.getElementById('lon');
  const output = document.getElementById('district-of-point');
  const locate = document.getElementById('use-location');
  if (!container || !latInput || !lonInput || !window.L) {
    return;
  }
  const data = container.dataset;
  const label = (name) => data[name] || '';
  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'
    })[c]);

  const PERU = L.latLngBounds([-18.4, -81.4], [-0.03, -68.6]);
  const CLOSE_ZOOM = 13;

  const map = L.map(container, { maxZoom: 18, minZoom: 2 });
  if (data.tileUrl) {
    L.tileLayer(data.tileUrl, {
      maxZoom: 18,
      attribution: escapeHtml(data.tileAttribution || '')
    }).addTo(map);
  }
  map.fitBounds(PERU);
  let marker = null;

  // With no base map, district outlines in view tell where the point is.
  if (!data.tileUrl) {
    const outlines = L.geoJSON(null, {
      interactive: false,
      style: { className: 'map-district', weight: 1, color: '#555', opacity: 0.7, fill: false }
    }).addTo(map);
    let outlinesInFlight = null;
    const loadOutlines = () => {
      if (outlinesInFlight) {
        outlinesInFlight.abort();
      }
      outlinesInFlight = new AbortController();
      const b = map.getBounds();
      const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
      const bbox = [
        clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
        clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)
      ].map((v) => Math.round(v * 1e6) / 1e6).join(',');
      const zoom = Math.min(20, Math.max(0, Math.round(map.getZoom())));
      fetch('/api/v1/districts?bbox=' + encodeURIComponent(bbox) + '&zoom=' + zoom, {
        credentials: 'same-origin',
        headers: { Accept: 'application/geo+json' },
        signal: outlinesInFlight.signal
      })
        .then((response) => (response.ok ? response.json() : null))
        .then((collection) => {
          if (collection) {
            outlines.clearLayers();
            outlines.addData(collection);
          }
        })
        .catch(() => {});
    };
    map.on('moveend', loadOutlines);
    loadOutlines();
  }

  const say = (text) => {
    if (output) {
      output.textContent = text;
    }
  };

  // The district of the point, from the server's boundaries; the last
  // request wins, older ones are aborted.
  let inFlight = null;
  let pending = null;
  const showDistrict = async (lat, lon) => {
    if (inFlight) {
      inFlight.abort();
    }
    const controller = new AbortController();
    inFlight = controller;
    try {
      const response = await fetch(
        '/api/v1/districts/at?lat=' + encodeURIComponent(lat) + '&lon=' + encodeURIComponent(lon),
        { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: controller.signal }
      );
      if (response.status === 404) {
        say(label('labelNoDistrict'));
        return;
      }
      if (!response.ok) {
        say(label('labelError'));
        return;
      }
      const d = await response.json();
      say(d.district + ', ' + d.province + ', ' + d.region + ' (' + d.ubigeo + ')');
    } catch (e) {
      if (!e || e.name !== 'AbortError') {
        say(label(navigator.onLine ? 'labelError' : 'labelOffline'));
      }
    } finally {
      if (inFlight === controller) {
        inFlight = null;
      }
    }
  };
  // Typing sends one request once the person pauses, not one per key.
  const showDistrictSoon = (lat, lon) => {
    clearTimeout(pending);
    pending = setTimeout(() => showDistrict(lat, lon), 300);
  };

  const parse = (input, limit) => {
    const text = input.value.trim().replace(',', '.');
    if (text === '') {
      return null;
    }
    const value = Number(text);
    return Number.isFinite(value) && Math.abs(value) <= limit ? value : null;
  };

  const place = (lat, lon) => {
    if (marker) {
      marker.setLatLng([lat, lon]);
    } else {
      marker = L.marker([lat, lon], { keyboard: false }).addTo(map);
    }
  };

  // A point chosen on the map or by the device: written into the fields
  // (6 decimals, about 10 cm) and told to the form as a change.
  const choose = (lat, lon, zoomIn) => {
    // A lookup of typed coordinates still waiting must not answer after this one.
    clearTimeout(pending);
    latInput.value = lat.toFixed(6);
    lonInput.value = lon.toFixed(6);
    [latInput, lonInput].forEach((input) => {
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    place(lat, lon);
    if (zoomIn) {
      map.setView([lat, lon], Math.max(map.getZoom(), CLOSE_ZOOM));
    }
    showDistrict(lat.toFixed(6), lon.toFixed(6));
  };

  map.on('click', (e) => {
    const p = e.latlng.wrap();
    choose(p.lat, p.lng, false);
  });

  // Typed coordinates move the marker once both read as numbers in range.
  const fromFields = (pan) => {
    const lat = parse(latInput, 90);
    const lon = parse(lonInput, 180);
    if (lat === null || lon === null) {
      return false;
    }
    place(lat, lon);
    if (pan && !map.getBounds().contains([lat, lon])) {
      map.setView([lat, lon], Math.max(map.getZoom(), CLOSE_ZOOM));
    }
    return [lat, lon];
  };
  const typed = () => {
    const point = fromFields(true);
    if (point) {
      showDistrictSoon(point[0], point[1]);
    } else {
      say('');
    }
  };
  latInput.addEventListener('input', typed);
  lonInput.addEventListener('input', typed);
  // A decimal comma (as typed in Spanish) is sent as the point the server reads.
  [latInput, lonInput].forEach((input) => {
    input.addEventListener('change', (event) => {
      if (input.value.indexOf(',') !== -1 && parse(input, 180) !== null) {
        input.value = input.value.trim().replace(',', '.');
      }
      // Done typing (the field left): show the point up close, as a click
      // on the map would be made.
      // (Not for the change `choose` announces: a click keeps its zoom.)
      const lat = parse(latInput, 90);
      const lon = parse(lonInput, 180);
      if (event.isTrusted && lat !== null && lon !== null) {
        map.setView([lat, lon], Math.max(map.getZoom(), CLOSE_ZOOM));
      }
    });
  });

  if (locate) {
    if (!('geolocation' in navigator)) {
      locate.disabled = true;
    }
    locate.addEventListener('click', () => {
      if (!('geolocation' in navigator)) {
        say(label('labelGeolocationFailed'));
        return;
      }
      say(label('labelLocating'));
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          locate.disabled = false;
          choose(position.coords.latitude, position.coords.longitude, true);
        },
        () => {
          locate.disabled = false;
          say(label('labelGeolocationFailed'));
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    });
  }

  // An edit, or a form sent back with errors: show the point it already has.
  const initial = fromFields(false);
  if (initial) {
    map.setView(initial, CLOSE_ZOOM);
    showDistrict(initial[0], initial[1]);
  }
})();
