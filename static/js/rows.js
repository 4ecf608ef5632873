// Rows a form adds and removes (sources, actors), from <template>s.
//
// Page contract:
//   <button type="button" data-add-row="source-row-template" data-target="source-rows">…</button>
//   <table id="source-rows"><tbody>…rows…</tbody></table>   (or any element)
//   <template id="source-row-template"><tr>…<button type="button" class="remove-row">…</button></tr></template>
// A row is the closest `tr`, or element with `data-row`, around a
// `.remove-row` button. In a template, `__n__` in an id, `for`,
// `aria-labelledby`, `aria-describedby` or `aria-controls` becomes a
// number unique on the page, so that each row's labels name its own fields.
// `window.VigiaRows.append(template, target)` does the same for other
// scripts (actor-picker.js); load this file before them.
(function () {
  'use strict';

  let counter = 0;
  const RENUMBERED = ['id', 'for', 'aria-labelledby', 'aria-describedby', 'aria-controls'];

  // Where rows go: a table's first body, or the element itself.
  const rowsOf = (target) => {
    if (target.tagName === 'TABLE') {
      return target.tBodies[0] || target.appendChild(document.createElement('tbody'));
    }
    return target;
  };

  const firstField = (row) =>
    row.querySelector('input:not([type=hidden]), select, textarea, button');

  // Appends a copy of the template's content; returns the new row (its
  // first element).
  const append = (template, target) => {
    counter += 1;
    const n = String(Date.now()) + '-' + counter;
    const copy = template.content.cloneNode(true);
    copy.querySelectorAll('*').forEach((el) => {
      RENUMBERED.forEach((name) => {
        const value = el.getAttribute(name);
        if (value && value.indexOf('__n__') !== -1) {
          el.setAttribute(name, value.split('__n__').join(n));
        }
      });
    });
    const row = copy.firstElementChild;
    rowsOf(target).appendChild(copy);
    return row;
  };

  const rowOf = (button) => button.closest('tr, [data-row]');

  document.addEventListener('click', (e) => {
    const add = e.target.closest('[data-add-row]');
    if (add) {
      const template = document.getElementById(add.getAttribute('data-add-row'));
      const target = document.getElementById(add.getAttribute('data-target'));
      if (template && target && 'content' in template) {
        e.preventDefault();
        const row = append(template, target);
        const field = row && firstField(row);
        if (field) {
          field.focus();
        }
      }
      return;
    }
    const remove = e.target.closest('.remove-row');
    if (remove) {
      const row = rowOf(remove);
      if (!row) {
        return;
      }
      e.preventDefault();
      // Keep the keyboard somewhere sensible: the next row, the previous
      // one, or the button that adds rows to this list.
      const next = row.nextElementSibling || row.previousElementSibling;
      const list = row.parentElement;
      row.remove();
      let focus = next ? firstField(next) : null;
      if (!focus && list) {
        const owner = list.closest('[id]');
        if (owner) {
          focus = document.querySelector('[data-add-row][data-target="' + CSS.escape(owner.id) + '"]');
        }
      }
      if (focus) {
        focus.focus();
      }
    }
  });

  window.VigiaRows = { append: append };
})();
