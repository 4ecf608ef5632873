// The public map: the published incidents (already generalised by the
// server: district centroids or grid cell centres) from the public GeoJSON
// export, one marker each. All text goes in as text.
(function () {
  "use strict";
  var el = document.getElementById("public-map");
  if (!el || typeof L === "undefined") {
    return;
  }
  var map = L.map(el, { maxZoom: 14 });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, {
      maxZoom: 14,
      attribution: el.dataset.tileAttribution || ""
    }).addTo(map);
  }
  map.setView([-9.19, -75.02], 5);
  fetch(el.dataset.src, { credentials: "omit" })
    .then(function (res) {
      if (!res.ok) {
        throw new Error("HTTP " + res.status);
      }
      return res.json();
    })
    .then(function (collection) {
      var bounds = L.latLngBounds([]);
      (collection.features || []).forEach(function (feature) {
        var c = feature.geometry && feature.geometry.coordinates;
        if (!c || c.length < 2) {
          return;
        }
        var p = feature.properties || {};
        var marker = L.circleMarker([c[1], c[0]], {
          radius: 7, color: "#102a43", weight: 2, fillColor: "#f2a900", fillOpacity: 1
        });
        var box = document.createElement("div");
        var link = document.createElement("a");
        link.href = "/publico/incidentes/" + encodeURIComponent(String(feature.id));
        link.textContent = p.title || "";
        box.appendChild(link);
        var when = document.createElement("div");
        when.textContent = [p.event_date, p.admin3, p.admin1].filter(Boolean).join(" · ");
        box.appendChild(when);
        marker.bindPopup(box);
        marker.addTo(map);
        marker.getElement().setAttribute("data-incident", String(feature.id));
        bounds.extend([c[1], c[0]]);
      });
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [30, 30], maxZoom: 9 });
      }
      el.setAttribute("data-markers", String((collection.features || []).length));
    })
    .catch(function () {
      el.setAttribute("data-markers", "error");
    });
})();
