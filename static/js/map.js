// The incidents map: Leaflet over Vigía's own API, no build step.
//
// Page contract (the incidents page renders it):
//   <div id="map" data-tile-url="https://tile.example/{z}/{x}/{y}.png or empty"
//        data-tile-attribution="plain text"
//        data-api-query="event_type=fire&q=chancas"   (the page's filters, no leading ?)
//        data-label-incidents="…" data-label-concessions="…"
//        data-label-districts="…" data-label-loading="…"
//        data-label-error="…"                          (optional)
//        data-types='{"fire": "…", …}'>
// after leaflet.js and leaflet.markercluster.js. Every word a person reads
// comes from those attributes; data from the API is only ever set as text.
// No inline style or style attribute is written (the page's CSP forbids
// them): look is given by classes, positions by Leaflet through the CSSOM.
(function () {
  'use strict';

  const container = document.getElementById('map');
  if (!container || !window.L) {
    return;
  }
  const data = container.dataset;
  const label = (name) => data[name] || '';
  let typeLabels = {};
  try {
    typeLabels = JSON.parse(data.types || '{}') || {};
  } catch (e) {
    typeLabels = {};
  }
  const apiQuery = (data.apiQuery || '').replace(/^[?&]+/, '');

  // Peru, with a little margin.
  const PERU = L.latLngBounds([-18.4, -81.4], [-0.03, -68.6]);
  // Concession outlines are legible, and few enough to load, from here on.
  const CONCESSIONS_FROM_ZOOM = 11;
  const CONCESSION_PAGE = 200;
  const CONCESSION_PAGES = 5;

  // Leaflet writes layer names and attributions as HTML: give it text.
  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({
      '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'
    })[c]);

  // markercluster needs maxZoom on the map when no tile layer gives one.
  const map = L.map(container, { maxZoom: 18, minZoom: 2, worldCopyJump: false });
  if (data.tileUrl) {
    L.tileLayer(data.tileUrl, {
      maxZoom: 18,
      attribution: escapeHtml(data.tileAttribution || '')
    }).addTo(map);
  }

  // The status line (loading, errors), a control inside the map.
  const Status = L.Control.extend({
    options: { position: 'bottomleft' },
    onAdd: function () {
      const el = L.DomUtil.create('div', 'map-status');
      el.setAttribute('role', 'status');
      el.setAttribute('aria-live', 'polite');
      el.hidden = true;
      return el;
    }
  });
  const status = new Status();
  status.addTo(map);
  const statusEl = status.getContainer();
  let loading = 0;
  let failure = '';
  const showStatus = () => {
    const text = failure || (loading > 0 ? label('labelLoading') : '');
    statusEl.textContent = text;
    statusEl.hidden = !text;
    statusEl.classList.toggle('map-status--error', Boolean(failure));
  };

  // The view as the API reads it: a box within the world's ranges, a whole zoom.
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const round6 = (v) => Math.round(v * 1e6) / 1e6;
  const viewQuery = () => {
    const b = map.getBounds();
    const box = [
      clamp(b.getWest(), -180, 180),
      clamp(b.getSouth(), -90, 90),
      clamp(b.getEast(), -180, 180),
      clamp(b.getNorth(), -90, 90)
    ].map(round6);
    const zoom = clamp(Math.round(map.getZoom()), 0, 20);
    return { bbox: box.join(','), zoom: zoom };
  };

  // One load in flight per layer: a newer view aborts the older one,
  // every page of it included.
  const inFlight = {};
  const begin = (key) => {
    if (inFlight[key]) {
      inFlight[key].abort();
    }
    inFlight[key] = new AbortController();
    return inFlight[key].signal;
  };
  const fetchJson = async (url, accept, signal) => {
    loading += 1;
    showStatus();
    try {
      const response = await fetch(url, {
        credentials: 'same-origin',
        headers: { Accept: accept || 'application/json' },
        signal: signal
      });
      if (!response.ok) {
        let detail = '';
        try {
          const problem = await response.json();
          detail = problem.title || '';
        } catch (e) {
          detail = '';
        }
        throw new Error(label('labelError') || detail || String(response.status));
      }
      return await response.json();
    } finally {
      loading -= 1;
      showStatus();
    }
  };
  const isAbort = (e) => e && e.name === 'AbortError';
  const report = (e) => {
    if (isAbort(e)) {
      return;
    }
    failure = e && e.message ? e.message : label('labelError');
    showStatus();
  };

  // Incidents: grid cells when many, clustered markers when few.
  const cellLayer = L.layerGroup();
  const markerLayer = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
  const incidents = L.layerGroup([cellLayer, markerLayer]).addTo(map);

  const formatCount = (n) => Number(n).toLocaleString(document.documentElement.lang || undefined);
  const cellSize = (count) => (count < 100 ? 'small' : count < 1000 ? 'medium' : 'large');

  const drawCells = (cells) => {
    cells.forEach((cell) => {
      const size = cellSize(cell.count);
      const text = document.createElement('span');
      text.textContent = formatCount(cell.count);
      const marker = L.marker([cell.lat, cell.lon], {
        icon: L.divIcon({
          className: 'map-cell map-cell--' + size,
          html: text,
          iconSize: size === 'large' ? [48, 48] : size === 'medium' ? [40, 40] : [32, 32]
        }),
        title: formatCount(cell.count) + ' ' + label('labelIncidents'),
        keyboard: true
      });
      marker.on('click', () => {
        const [minLon, minLat, maxLon, maxLat] = cell.bbox;
        const bounds = L.latLngBounds([minLat, minLon], [maxLat, maxLon]);
        const target = map.getBoundsZoom(bounds);
        if (target > map.getZoom()) {
          map.fitBounds(bounds, { padding: [24, 24] });
        } else {
          // All in one spot, or already as close as the box allows.
          map.setView(bounds.getCenter(), Math.min(map.getZoom() + 2, map.getMaxZoom()));
        }
      });
      cellLayer.addLayer(marker);
    });
  };

  // "mayo de 2022" for a month: the page gives the month names and the
  // patterns of its language (data-months, data-date-day, data-date-month).
  let months = [];
  try {
    months = JSON.parse(data.months || '[]');
  } catch (e) {
    months = [];
  }
  const dateText = (iso, precision) => {
    const parts = String(iso).split('-');
    if (parts.length !== 3 || months.length !== 12) {
      return String(iso);
    }
    const [year, month, day] = parts;
    if (precision === 'year') {
      return year;
    }
    const pattern = precision === 'month' ? data.dateMonth : data.dateDay;
    if (!pattern) {
      return String(iso);
    }
    return pattern
      .replace('{day}', String(Number(day)))
      .replace('{month}', months[Number(month) - 1] || month)
      .replace('{year}', year);
  };

  const typeClass = (type) => 'map-marker--' + String(type).replace(/[^a-z0-9_]/g, '');
  const popupFor = (item) => {
    const box = document.createElement('div');
    box.className = 'map-popup';
    const link = document.createElement('a');
    link.href = '/incidents/' + encodeURIComponent(item.id);
    link.textContent = item.title;
    box.appendChild(link);
    const meta = document.createElement('p');
    meta.className = 'map-popup-meta';
    const type = typeLabels[item.event_type] || item.event_type;
    meta.textContent = type + ' · ' + dateText(item.occurred_on, item.date_precision);
    box.appendChild(meta);
    return box;
  };

  // Markers are updated, not redrawn: one still in view keeps its popup
  // open (a popup that pans the map to fit triggers a reload). The cluster
  // group folds a spread-out cluster (incidents at one spot) back on any
  // add or remove, even of nothing: a reload that changes nothing calls
  // neither, or the popup of a spread-out marker would close as it opens.
  const shown = new Map();
  const drawMarkers = (items) => {
    const wanted = new Set(items.map((item) => item.id));
    const gone = [];
    shown.forEach((marker, id) => {
      if (!wanted.has(id)) {
        gone.push(marker);
        shown.delete(id);
      }
    });
    if (gone.length) {
      markerLayer.removeLayers(gone);
    }
    const added = items.filter((item) => !shown.has(item.id)).map((item) => {
      const marker = L.marker([item.lat, item.lon], {
        icon: L.divIcon({
          className: 'map-marker ' + typeClass(item.event_type),
          iconSize: [16, 16]
        }),
        title: item.title,
        alt: item.title,
        keyboard: true
      });
      marker.bindPopup(() => popupFor(item));
      shown.set(item.id, marker);
      return marker;
    });
    if (added.length) {
      markerLayer.addLayers(added);
    }
  };

  const loadIncidents = async () => {
    const view = viewQuery();
    let url = '/api/v1/events/clusters?bbox=' + encodeURIComponent(view.bbox) + '&zoom=' + view.zoom;
    if (apiQuery) {
      url += '&' + apiQuery;
    }
    const answer = await fetchJson(url, 'application/json', begin('incidents'));
    cellLayer.clearLayers();
    drawCells(answer.cells || []);
    drawMarkers(answer.markers || []);
  };

  // District outlines, thin, named on hover.
  const tooltipText = (text) => {
    const span = document.createElement('span');
    span.textContent = text;
    return span;
  };
  const districts = L.geoJSON(null, {
    style: { className: 'map-district', weight: 1, color: '#555', opacity: 0.7, fillOpacity: 0 },
    onEachFeature: (feature, layer) => {
      const p = feature.properties || {};
      layer.bindTooltip(() => tooltipText(p.district + ', ' + p.province + ', ' + p.region), {
        sticky: true
      });
    }
  });
  const loadDistricts = async () => {
    const view = viewQuery();
    const url = '/api/v1/districts?bbox=' + encodeURIComponent(view.bbox) + '&zoom=' + view.zoom;
    const collection = await fetchJson(url, 'application/geo+json', begin('districts'));
    districts.clearLayers();
    districts.addData(collection);
  };

  // Concession outlines from a legible zoom, a few pages at most.
  const concessions = L.geoJSON(null, {
    style: { className: 'map-concession', weight: 1, color: '#b35900', fillOpacity: 0.08 },
    onEachFeature: (feature, layer) => {
      const p = feature.properties || {};
      const holder = p.holder ? ' (' + p.holder + ')' : '';
      layer.bindTooltip(() => tooltipText(p.code + ' ' + p.name + holder), { sticky: true });
    }
  });
  const loadConcessions = async () => {
    if (map.getZoom() < CONCESSIONS_FROM_ZOOM) {
      if (inFlight.concessions) {
        inFlight.concessions.abort();
      }
      concessions.clearLayers();
      return;
    }
    const signal = begin('concessions');
    const view = viewQuery();
    const base = '/api/v1/concessions?bbox=' + encodeURIComponent(view.bbox) +
      '&zoom=' + view.zoom + '&limit=' + CONCESSION_PAGE;
    const features = [];
    let cursor = null;
    for (let page = 0; page < CONCESSION_PAGES; page += 1) {
      const url = cursor ? base + '&cursor=' + encodeURIComponent(cursor) : base;
      const collection = await fetchJson(url, 'application/geo+json', signal);
      features.push(...(collection.features || []));
      cursor = collection.next_cursor;
      if (!cursor) {
        break;
      }
    }
    concessions.clearLayers();
    concessions.addData({ type: 'FeatureCollection', features: features });
  };

  // With no base map (an office without internet), the outlines are what
  // tells a place: shown from the start.
  if (!data.tileUrl) {
    districts.addTo(map);
  }

  const overlays = {};
  overlays[escapeHtml(label('labelIncidents'))] = incidents;
  overlays[escapeHtml(label('labelDistricts'))] = districts;
  overlays[escapeHtml(label('labelConcessions'))] = concessions;
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);

  const loaders = [
    [incidents, loadIncidents, 'incidents'],
    [districts, loadDistricts, 'districts'],
    [concessions, loadConcessions, 'concessions']
  ];
  const layerKey = (layer) => {
    const found = loaders.find((entry) => entry[0] === layer);
    return found ? found[2] : '';
  };
  const refresh = (only) => {
    failure = '';
    showStatus();
    loaders.forEach(([layer, load]) => {
      if ((!only || only === layer) && map.hasLayer(layer)) {
        load().catch(report);
      }
    });
  };

  map.fitBounds(PERU);
  map.on('moveend', () => refresh());
  map.on('overlayadd', (e) => refresh(e.layer));
  map.on('overlayremove', (e) => {
    Object.keys(inFlight).forEach((key) => {
      if (key === layerKey(e.layer)) {
        inFlight[key].abort();
      }
    });
  });
  refresh();
})();
