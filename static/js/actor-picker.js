// Find an actor as you type (name or alias: `SPCC` finds Southern Perú
// Copper Corporation) and add it to the incident's actors, with a role and
// an attribution to choose in its row.
//
// Page contract:
//   <input type="search" id="actor-search" list="actor-suggestions" data-label-none="…">
//   <datalist id="actor-suggestions"></datalist>   (replaced by a listbox)
//   <table id="actor-rows"><tbody>…</tbody></table>
//   <template id="actor-row-template"><tr>
//     <input type="hidden" name="actor_id"> <td class="actor-name"></td>
//     <select name="actor_role">…</select> <select name="actor_attribution">…</select>
//     <button type="button" class="remove-row">…</button></tr></template>
// after rows.js (which removes rows and numbers template ids). The input
// becomes an ARIA combobox over a listbox of suggestions (a datalist cannot
// carry an actor's id, and screen readers announce a listbox better).
// Names come from the API and are set as text only.
(function () {
  'use strict';

  const input = document.getElementById('actor-search');
  const table = document.getElementById('actor-rows');
  const template = document.getElementById('actor-row-template');
  if (!input || !table || !template) {
    return;
  }
  const DEBOUNCE_MS = 200;
  const LIMIT = 10;

  const datalist = input.getAttribute('list') && document.getElementById(input.getAttribute('list'));
  input.removeAttribute('list');
  if (datalist) {
    datalist.remove();
  }
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
  if (input.labels && input.labels[0] && !listbox.hasAttribute('aria-labelledby')) {
    if (!input.labels[0].id) {
      input.labels[0].id = input.id + '-label';
    }
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
    all[active].scrollIntoView({ block: 'nearest' });
  };

  const describe = (actor) => {
    const aliases = (actor.aliases || []).filter((a) => a && a !== actor.name);
    return aliases.length ? actor.name + ' (' + aliases.join(', ') + ')' : actor.name;
  };

  const show = (actors) => {
    found = actors;
    listbox.textContent = '';
    active = -1;
    input.removeAttribute('aria-activedescendant');
    if (actors.length === 0) {
      const none = document.createElement('li');
      none.setAttribute('role', 'option');
      none.setAttribute('aria-disabled', 'true');
      none.className = 'actor-suggestion actor-suggestion--none';
      none.textContent = input.dataset.labelNone || '';
      listbox.appendChild(none);
    }
    actors.forEach((actor, i) => {
      const option = document.createElement('li');
      option.id = listbox.id + '-' + i;
      option.setAttribute('role', 'option');
      option.setAttribute('aria-selected', 'false');
      option.className = 'actor-suggestion';
      option.dataset.index = String(i);
      option.textContent = describe(actor);
      listbox.appendChild(option);
    });
    listbox.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  };

  const search = async (text) => {
    if (inFlight) {
      inFlight.abort();
    }
    const controller = new AbortController();
    inFlight = controller;
    try {
      const response = await fetch(
        '/api/v1/actors?q=' + encodeURIComponent(text) + '&limit=' + LIMIT,
        { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: controller.signal }
      );
      if (!response.ok) {
        close();
        return;
      }
      const page = await response.json();
      if (input.value.trim() === text) {
        show(page.items || []);
      }
    } catch (e) {
      if (!e || e.name !== 'AbortError') {
        close();
      }
    } finally {
      if (inFlight === controller) {
        inFlight = null;
      }
    }
  };

  const rowFor = (id) =>
    Array.prototype.find.call(table.querySelectorAll('input[name=actor_id]'), (el) => el.value === id);

  const pick = (actor) => {
    close();
    input.value = '';
    // An actor already listed is not added twice: its row is shown instead.
    const existing = rowFor(actor.id);
    let row;
    if (existing) {
      row = existing.closest('tr, [data-row]');
    } else if (window.VigiaRows) {
      row = window.VigiaRows.append(template, table);
    } else {
      row = template.content.firstElementChild.cloneNode(true);
      (table.tBodies[0] || table).appendChild(row);
    }
    if (!row) {
      return;
    }
    if (!existing) {
      const id = row.querySelector('input[name=actor_id]');
      if (id) {
        id.value = actor.id;
      }
      const name = row.querySelector('.actor-name');
      if (name) {
        name.textContent = actor.name;
      }
      // Kept with the row so that a form shown again (an error, a
      // conflict) still names the actor.
      const shownName = row.querySelector('input[name=actor_name]');
      if (shownName) {
        shownName.value = actor.name;
      }
    }
    const role = row.querySelector('select[name=actor_role]');
    if (role) {
      role.focus();
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text === '') {
      if (inFlight) {
        inFlight.abort();
      }
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
      // Enter picks the highlighted actor; it never sends the form from here.
      e.preventDefault();
      const all = options();
      const chosen = active >= 0 ? all[active] : all.length === 1 ? all[0] : null;
      if (chosen) {
        pick(found[Number(chosen.dataset.index)]);
      }
    } else if (e.key === 'Escape' && open) {
      e.preventDefault();
      close();
    }
  });

  // Keep the focus in the input while a suggestion is clicked.
  listbox.addEventListener('mousedown', (e) => e.preventDefault());
  listbox.addEventListener('click', (e) => {
    const option = e.target.closest('[role=option]');
    if (option && option.getAttribute('aria-disabled') !== 'true') {
      pick(found[Number(option.dataset.index)]);
    }
  });
  input.addEventListener('blur', () => {
    setTimeout(close, 150);
  });
})();
