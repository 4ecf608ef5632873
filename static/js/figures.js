// "Cifras": a PNG of each chart, drawn from its inline SVG on a canvas in
// the browser. Without this script the page has the SVG and CSV links.
(function () {
  "use strict";
  function download(blob, name) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  function toPng(svg, name, failed) {
    var box = svg.viewBox.baseVal;
    var scale = 2;
    var text = new XMLSerializer().serializeToString(svg);
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(box.width * scale);
      canvas.height = Math.round(box.height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (blob) { download(blob, name + ".png"); } else { failed(); }
      }, "image/png");
    };
    image.onerror = failed;
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  }

  document.querySelectorAll(".figure").forEach(function (figure) {
    var button = figure.querySelector(".download-png");
    var svg = figure.querySelector(".chart-wrap svg");
    if (!button || !svg) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      toPng(svg, figure.dataset.name || "vigia-figure", function () {
        button.disabled = true;
        var texts = document.getElementById("figures-texts");
        button.title = texts ? texts.dataset.pngFailed : "";
      });
    });
  });
})();
