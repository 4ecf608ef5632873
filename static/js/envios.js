// "Mis envíos": the outbox (outbox.js) as a list, filled from IndexedDB,
// text only: waiting, sent (with a link to the incident) and refused (the
// server's errors, to fix in the form or delete). "Enviar ahora" sends
// what waits at once.
(function () {
  'use strict';

  const list = document.getElementById('outbox-list');
  const outbox = window.VigiaOutbox;
  const status = document.getElementById('outbox-status');
  const sendNow = document.getElementById('outbox-send-now');
  if (!list || !outbox) {
    return;
  }
  const label = list.dataset;
  const texts = window.VigiaOutboxTexts || {};
  // The server's errors in the page's language: the rule by its code, the
  // field by its name in the form (`sources[1].url` → "Fuentes 2");
  // anything unknown as the server said it.
  let messages = { codes: {}, fields: {} };
  try {
    messages = JSON.parse(label.messages || '{}');
  } catch (e) {
    messages = { codes: {}, fields: {} };
  }
  const fieldName = (field) => {
    if (!field) {
      return '';
    }
    const fields = messages.fields || {};
    if (fields[field]) {
      return fields[field];
    }
    const item = /^([a-z_]+)\[(\d+)\]/.exec(field);
    if (item && fields[item[1]]) {
      return fields[item[1]] + ' ' + (Number(item[2]) + 1);
    }
    return field;
  };
  const describeError = (e) => {
    const codes = messages.codes || {};
    const text = (e.code && codes[e.code]) || e.message || '';
    const name = fieldName(e.field);
    return name ? name + ': ' + text : text;
  };
  const when = (ms) => {
    try {
      return new Date(ms).toLocaleString(label.lang === 'en' ? 'en-GB' : 'es-PE', { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) {
      return new Date(ms).toISOString();
    }
  };
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  };

  const entry = (item) => {
    const li = el('li', 'outbox-item');
    li.dataset.id = item.id;
    li.dataset.status = item.status;
    li.appendChild(el('p', 'outbox-title', item.title || label.labelUntitled));
    const meta = el('p', 'outbox-meta', (label.labelSavedAt || '').replace('{time}', when(item.created_at)));
    if (item.sent_at) {
      meta.textContent += ' · ' + (label.labelSentAt || '').replace('{time}', when(item.sent_at));
    }
    li.appendChild(meta);
    const files = (item.photos || []).length;
    if (files) {
      li.appendChild(el('p', 'outbox-meta', (label.labelFiles || '{n}').replace('{n}', String(files))));
    }
    if (item.status === 'waiting' && item.last_error) {
      li.appendChild(el('p', 'outbox-meta', label.labelTryFailed));
    }
    if (item.status === 'sent' && !item.done) {
      li.appendChild(el('p', 'outbox-meta', texts.actorStepFailed));
    }
    const errors = (item.errors || []).concat(item.status === 'sent' ? item.step_errors || [] : []);
    if (errors.length) {
      const ul = el('ul', 'outbox-errors');
      errors.forEach((e) => ul.appendChild(el('li', '', describeError(e))));
      li.appendChild(ul);
    }
    const buttons = el('p', 'buttons');
    if (item.incident_id) {
      const a = el('a', 'outbox-open', label.labelOpen);
      a.href = '/incidents/' + encodeURIComponent(item.incident_id);
      buttons.appendChild(a);
    }
    if (item.status === 'refused') {
      const fix = el('a', 'button outbox-fix', label.labelFix);
      fix.href = '/incidents/new?outbox=' + encodeURIComponent(item.id);
      buttons.appendChild(fix);
      buttons.appendChild(document.createTextNode(' '));
      const del = el('button', 'outbox-delete', label.labelDelete);
      del.type = 'button';
      del.addEventListener('click', async () => {
        await outbox.remove(item.id);
        outbox.changed();
      });
      buttons.appendChild(del);
    }
    if (buttons.childNodes.length) {
      li.appendChild(buttons);
    }
    return li;
  };

  const draw = async () => {
    const user = await outbox.currentUser();
    const items = (await outbox.all()).filter((i) => outbox.mine(i, user));
    const groups = [
      ['waiting', label.labelWaiting, items.filter((i) => i.status === 'waiting')],
      ['refused', label.labelRefused, items.filter((i) => i.status === 'refused')],
      ['sent', label.labelSent, items.filter((i) => i.status === 'sent').reverse()],
    ];
    list.textContent = '';
    groups.forEach(([name, heading, found]) => {
      const section = el('section', 'outbox-group');
      section.id = 'outbox-' + name;
      const h2 = el('h2', '', heading + ' (' + found.length + ')');
      h2.id = 'outbox-' + name + '-heading';
      section.setAttribute('aria-labelledby', h2.id);
      section.appendChild(h2);
      if (found.length === 0) {
        section.appendChild(el('p', 'muted', label.labelNone));
      } else {
        const ul = el('ul', 'outbox-items');
        found.forEach((item) => ul.appendChild(entry(item)));
        section.appendChild(ul);
      }
      list.appendChild(section);
    });
    const signIn = await outbox.needsSignIn();
    status.textContent = '';
    if (signIn) {
      status.appendChild(document.createTextNode(texts.signInAgain + ' '));
      const a = el('a', '', texts.signIn);
      a.href = '/sign-in?next=/envios';
      status.appendChild(a);
    } else if (!navigator.onLine) {
      status.textContent = texts.offlineNow;
    }
  };

  // A thousand items sent one after another change the outbox a thousand
  // times: the list is drawn again at most every quarter of a second.
  let soon = null;
  const redraw = () => {
    if (!soon) {
      soon = setTimeout(() => {
        soon = null;
        draw().catch(() => undefined);
      }, 250);
    }
  };
  window.addEventListener('vigia-outbox-changed', redraw);
  window.addEventListener('online', redraw);
  window.addEventListener('offline', redraw);
  if (sendNow) {
    sendNow.addEventListener('click', async () => {
      sendNow.disabled = true;
      status.textContent = texts.sending;
      try {
        await outbox.run({ force: true, wait: true });
      } catch (e) {
        // Shown by the list: the item still waits.
      }
      sendNow.disabled = false;
      await draw();
    });
  }
  draw().catch(() => undefined);
})();
