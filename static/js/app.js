// Small behaviours every page may use. Without JavaScript the pages work
// the same, only without the confirmation question.
(function () {
  "use strict";
  // <form data-confirm="question">: ask before sending (deleting).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });
})();
