"""A watch's Atom feed in a real Chromium: the monitor saves a watch,
confirms it from the mail, an incident falls in its area, and the feed link
shown on "Mis alertas" is read by feedparser (an Atom reader independent of
Vigía); "Nuevo enlace" replaces the link and the old one stops working."""

import json
import re
import urllib.error
import urllib.request

import feedparser
from playwright.sync_api import expect

from conftest import api, check_axe, goto, shot
# The SMTP server of this process and the delivery run, as test_watches uses them.
from test_watches import deliver, inbox, mail_to, text_of  # noqa: F401 (inbox is a fixture)

# Somewhere no other test logs incidents: Chumbivilcas, Cusco.
LON, LAT = -72.08, -14.45


def fetch(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def test_a_watch_feed_is_read_by_a_feed_reader_and_its_link_can_be_replaced(vigia, monitor, inbox):
    page = monitor.page
    goto(page, vigia.base + "/watches")
    address = "fuente.atom@example.org"
    half = 0.05
    ring = [[LON - half, LAT - half], [LON + half, LAT - half], [LON + half, LAT + half],
            [LON - half, LAT + half], [LON - half, LAT - half]]
    created = page.evaluate(
        """async ([ring, address]) => {
            const csrf = document.querySelector('meta[name=csrf-token]').content;
            const res = await fetch('/api/v1/watches', {method: 'POST', headers: {
                'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({email: address, frequency: 'immediate', language: 'es',
                    target: {type: 'area', geometry: {type: 'Polygon', coordinates: [ring]}}})});
            return [res.status, await res.json()];
        }""",
        [ring, address],
    )
    assert created[0] == 201, created
    deliver(inbox)
    (message,) = mail_to(inbox, address)
    link = re.search(r"https?://\S+/api/v1/watches/confirm\?token=\S+", text_of(message)).group(0)
    goto(page, link)
    page.get_by_role("button", name="Confirmar").click()
    expect(page.locator("main")).to_contain_text("Su alerta está activa")

    title = 'Bloqueo en Velille: "comuneros" <y> mineros & policía'
    status, event = api(vigia, "POST", "/api/v1/events", {
        "title": title, "event_type": "blockade", "occurred_on": "2025-08-14",
        "location": {"lat": LAT, "lon": LON, "precision": "near"}})
    assert status == 201, event

    goto(page, vigia.base + "/watches")
    row = page.locator("table.watches tbody tr").filter(has_text=address)
    row.locator("summary", has_text="Fuente Atom").click()
    feed_link = row.locator("a.feed-link")
    expect(feed_link).to_be_visible()
    url = feed_link.get_attribute("href")
    assert url.startswith(vigia.base + "/api/v1/watches/" + created[1]["id"] + "/feed.atom?token=")
    shot(vigia, page, "watch-feed-link")
    check_axe(vigia, page, "my alerts, feed link open")

    status, kind, body = fetch(url)
    assert status == 200 and kind.startswith("application/atom+xml"), (status, kind)
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title.startswith("Vigía: ")
    assert [e.title for e in feed.entries] == [title]
    assert feed.entries[0].link == vigia.base + "/incidents/" + event["id"]
    assert feed.entries[0].summary.startswith("Bloqueo · 14 de agosto de 2025 · ")
    assert feed.entries[0].summary.endswith("Está dentro del área que usted vigila.")

    # A new link; the old one is no longer a feed.
    row.get_by_role("button", name=re.compile("^Nuevo enlace")).click()
    page.wait_for_url(re.compile(r"/watches\?done=feed"))
    expect(page.locator(".notice")).to_contain_text("el anterior ya no funciona")
    row = page.locator("table.watches tbody tr").filter(has_text=address)
    row.locator("summary", has_text="Fuente Atom").click()
    new_url = row.locator("a.feed-link").get_attribute("href")
    assert new_url != url
    status, kind, body = fetch(url)
    assert status == 404 and json.loads(body)["status"] == 404
    status, _, body = fetch(new_url)
    assert status == 200 and [e.title for e in feedparser.parse(body).entries] == [title]
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(vigia, page, f"watch-feed-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
