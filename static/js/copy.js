// A "Copy" button for a value shown once (a new API key): the button
// stays hidden without JavaScript or a clipboard, where the value can
// still be selected in its field.
(function () {
  'use strict';
  document.querySelectorAll('button[data-copy]').forEach((button) => {
    const field = document.getElementById(button.dataset.copy);
    if (!field || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    const status = button.parentNode.querySelector('.copied');
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        if (status) {
          status.textContent = button.dataset.copied || '';
        }
      } catch (e) {
        field.select();
      }
    });
  });
})();
