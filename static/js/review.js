// The review queue without leaving the page: a verdict is sent in the
// background and its incident leaves the list; anything but a plain
// success sends the form the ordinary way, so the page shows why.
(function () {
  "use strict";
  var status = document.getElementById("review-status");
  var waiting = document.getElementById("review-waiting");
  var left = null;
  if (waiting) {
    var m = waiting.textContent.match(/\d+/);
    left = m ? parseInt(m[0], 10) : null;
  }

  function say(text) {
    if (!status) return;
    status.textContent = text;
    status.hidden = false;
  }

  document.querySelectorAll("form.review-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.plain === "1") return;
      var submitter = event.submitter;
      if (!submitter || !window.fetch) return;
      event.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      body.set(submitter.name, submitter.value);
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (response) {
        // Success is a 303 to the queue, followed to a 200.
        if (!response.ok || !response.redirected) throw new Error(String(response.status));
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var notice = page.getElementById("review-status");
          var item = form.closest(".review-item");
          var next = item && (item.nextElementSibling || item.previousElementSibling);
          if (item) item.remove();
          if (notice) say(notice.textContent);
          if (left !== null && waiting) {
            left = Math.max(0, left - 1);
            waiting.textContent = waiting.dataset.template.replace("{n}", String(left));
          }
          var focus = next && next.querySelector("textarea");
          if (focus) focus.focus();
        });
      }).catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        form.dataset.plain = "1";
        form.requestSubmit(submitter);
      });
    });
  });
})();
