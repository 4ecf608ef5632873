// The small map of an incident's or a concession's page: the point(s) and
// the concession outlines, from the element's data-geo (JSON written by the
// server, HTML-escaped in the attribute). All text goes in as text.
(function () {
  "use strict";
  var el = document.getElementById("incident-map");
  if (!el || typeof L === "undefined") {
    return;
  }
  var geo;
  try {
    geo = JSON.parse(el.dataset.geo || "{}");
  } catch (e) {
    return;
  }
  var map = L.map(el, { maxZoom: 18, scrollWheelZoom: false });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, {
      maxZoom: 18,
      attribution: el.dataset.tileAttribution || ""
    }).addTo(map);
  }
  // The view is set before any layer is added: a vector layer added to a
  // map without a view throws in Leaflet 1.9 ("reading 'min'") once the
  // view is set.
  var layers = [];
  var bounds = L.latLngBounds([]);
  if (geo.concessions && geo.concessions.features && geo.concessions.features.length) {
    var outlines = L.geoJSON(geo.concessions, {
      style: { color: "#8c2d04", weight: 2, fillOpacity: 0.08 },
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        var text = [p.code, p.name, p.holder].filter(Boolean).join(" · ");
        var span = document.createElement("span");
        span.textContent = text;
        layer.bindTooltip(span);
      }
    });
    layers.push(outlines);
    bounds.extend(outlines.getBounds());
  }
  var points = geo.points || (geo.point ? [geo.point] : []);
  points.forEach(function (p) {
    layers.push(L.circleMarker(p, { radius: 7, color: "#102a43", weight: 2, fillColor: "#f2a900", fillOpacity: 1 }));
    bounds.extend(p);
  });
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [20, 20], maxZoom: 13 });
  } else {
    map.setView([-9.19, -75.02], 5);
  }
  layers.forEach(function (layer) {
    layer.addTo(map);
  });
})();
