// Every page: registers the service worker (/sw.js, the whole site in its
// scope), which keeps what the incident form needs to open without a
// network; on signing out, forgets the kept pages (they hold the
// session's form token). What waits in the outbox stays.
(function () {
  'use strict';
  if (!('serviceWorker' in navigator)) {
    return;
  }
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  // The form open online: the kept copy of the actors (for the search
  // without a network) is brought up to date.
  if (document.getElementById('actor-search') && navigator.onLine && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: 'refresh-actors' });
  }
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.getAttribute('action') === '/sign-out' && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: 'forget-pages' });
    }
  });
})();
