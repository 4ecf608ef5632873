"""Benchmark (issue 13): 1,000 incidents queued offline on one phone, sent
when it reconnects, through the real outbox (outbox.js in Chromium) and the
real server, with one answer in 20 lost after the server committed (the
network drops before the phone hears it). Measured: the time from coming
back online to the last item sent, and the duplicates (must be 0).

Not part of the test suite (conftest.py runs bench_*.py only with
VIGIA_BENCH=1, and then nothing else); run it against the release binary,
on SQLite and on PostgreSQL:

    cargo build --release
    VIGIA_BENCH=1 VIGIA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
      tests/browser/run.sh target/release/vigia -s

VIGIA_BENCH_QUEUED sets the number of items (default 1000).

The items are written into IndexedDB as the form writes them (the same
fields), while the context is offline; the page is "Mis envíos", which
shows them and redraws as they go. Coming back online starts the sending
(the `online` event); whenever a lost answer makes the outbox wait (it
backs off and stops, as on a real network), the person presses "Enviar
ahora", as the page invites.
"""

import os
import time
import uuid

from conftest import allow_console_error, api, goto
from test_offline import open_form_once, signed_in_context

N = int(os.environ.get("VIGIA_BENCH_QUEUED", "1000"))
LOSE_EVERY = 20

QUEUE = """async ([n, run]) => {
  const owner = await window.VigiaOutbox.currentUser();
  const now = Date.now();
  for (let i = 0; i < n; i += 1) {
    await window.VigiaOutbox.put({
      id: crypto.randomUUID(),
      status: 'waiting',
      created_at: now + i,
      attempts: 0,
      next_try: 0,
      incident_id: null,
      done: false,
      owner,
      title: 'Bloqueo ' + run + ' ' + i,
      body: {
        title: 'Bloqueo ' + run + ' ' + i,
        event_type: 'blockade',
        occurred_on: '2024-06-01',
        time_precision: 'day',
        location: { lat: -14.2 - (i % 100) / 1000, lon: -73.1 + (i % 37) / 1000, precision: 'near' },
        fatalities: 0,
        injuries: 0,
        verification: 'unverified',
      },
      actors: [],
      new_actor: null,
      photos: [],
      fields: [],
    });
  }
  window.VigiaOutbox.changed();
}"""

LEFT = """async () => {
  const items = await window.VigiaOutbox.all();
  return items.filter((i) => window.VigiaOutbox.pending(i)).length;
}"""


def incidents_titled(vigia, run: str) -> list:
    titles, cursor = [], None
    while True:
        path = f"/api/v1/events?limit=200&q={run}" + (f"&cursor={cursor}" if cursor else "")
        status, page = api(vigia, "GET", path)
        assert status == 200, page
        titles += [e["title"] for e in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return titles


def test_a_thousand_queued_submissions_are_sent_once(vigia, admin, new_context):
    allow_console_error(r"net::ERR_(INTERNET_DISCONNECTED|CONNECTION_RESET|FAILED)")
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    run = uuid.uuid4().hex[:12]
    posts = {"n": 0, "lost": 0}

    def sometimes_lose_the_answer(route):
        if route.request.method != "POST":
            route.fallback()
            return
        posts["n"] += 1
        if posts["n"] % LOSE_EVERY == 0:
            route.fetch()  # committed on the server…
            posts["lost"] += 1
            route.abort("connectionreset")  # …and never heard by the phone
        else:
            route.fallback()

    goto(page, vigia.base + "/envios")
    context.set_offline(True)
    queued = time.perf_counter()
    page.evaluate(QUEUE, [N, run])
    queue_seconds = time.perf_counter() - queued
    assert page.evaluate(LEFT) == N
    context.route("**/api/v1/events", sometimes_lose_the_answer)

    started = time.perf_counter()
    context.set_offline(False)  # the `online` event starts the sending
    presses = 0
    waited = 0.0  # stalled after a lost answer, until the press
    last = N
    stalled_since = time.perf_counter()
    while True:
        left = page.evaluate(LEFT)
        if left == 0:
            break
        if left < last:
            last, stalled_since = left, time.perf_counter()
        elif time.perf_counter() - stalled_since > 1.0:
            # The outbox stopped after a lost answer and waits its backoff:
            # the person presses "Enviar ahora".
            send_now = page.get_by_role("button", name="Enviar ahora")
            if send_now.is_enabled():
                waited += time.perf_counter() - stalled_since
                send_now.click()
                presses += 1
            stalled_since = time.perf_counter()
        assert time.perf_counter() - started < 1800, f"{left} still waiting"
        page.wait_for_timeout(100)
    seconds = time.perf_counter() - started
    context.unroute("**/api/v1/events", sometimes_lose_the_answer)

    titles = incidents_titled(vigia, run)
    duplicates = len(titles) - len(set(titles))
    print(
        f"\n| queued | written to IndexedDB in | sent in | of which stalled until a press | "
        f"per item, sending | answers lost | 'Enviar ahora' presses | incidents | duplicates |\n"
        f"|---|---|---|---|---|---|---|---|---|\n"
        f"| {N} | {queue_seconds:.1f} s | {seconds:.1f} s | {waited:.1f} s | "
        f"{(seconds - waited) / N * 1000:.0f} ms | {posts['lost']} | {presses} | {len(titles)} | {duplicates} |"
    )
    assert len(titles) == N
    assert duplicates == 0
