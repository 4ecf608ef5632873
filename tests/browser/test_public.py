"""The public map in a real Chromium, as an anonymous visitor: markers for
the published incidents only, an incident's page, and no stored point in
any page's source. The pages at laptop and phone widths, in Spanish and
English, held to axe."""

import random

import pytest
from playwright.sync_api import expect

from conftest import api, check_axe, goto, shot

SIZES = [(1280, 900), (390, 844)]


@pytest.fixture(scope="module")
def seeded(vigia):
    """Two published incidents and one internal, at random stored points."""
    made = []
    for i, publish in enumerate([True, True, False]):
        lat = -6.0 - random.random() * 8
        lon = -76.0 - random.random() * 2
        status, body = api(vigia, "POST", "/api/v1/events", {
            "title": f"Público {i} {'publicado' if publish else 'interno'}",
            "event_type": "protest",
            "occurred_on": "2024-02-0%d" % (i + 1),
            "location": {"lat": lat, "lon": lon},
        })
        assert status == 201, body
        if publish:
            status, body = api(vigia, "POST", f"/api/v1/events/{body['id']}/publication",
                               {"state": "published"})
            assert status == 200, body
        made.append((body["id"], body["title"], lat, lon, publish))
    return made


def spellings(value):
    return [repr(value), f"{value:.6f}", f"{value:.5f}", f"{value:.4f}"]


def test_an_anonymous_visitor_sees_published_incidents_only(vigia, browser, seeded):
    context = browser.new_context(locale="es-PE")
    page = context.new_page()
    goto(page, vigia.base + "/publico")
    # A selector, not wait_for_function: its string predicate is eval, which the CSP refuses.
    page.wait_for_selector("#public-map[data-markers]", state="attached")
    markers = page.locator("#public-map [data-incident]")
    shown = {markers.nth(i).get_attribute("data-incident") for i in range(markers.count())}
    published = {m[0] for m in seeded if m[4]}
    internal = {m[0] for m in seeded if not m[4]}
    assert published <= shown, (published, shown)
    assert not (internal & shown)
    assert page.locator("#public-map").get_attribute("data-markers") == str(len(shown))
    check_axe(vigia, page, "public-map")
    sources = [page.content()]
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(vigia, page, f"public-map-es-{width}")

    # The list, then one incident, as a visitor follows the links.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("header nav a", has_text="Incidentes").click()
    page.wait_for_url("**/publico/incidentes")
    first_published = next(m for m in seeded if m[4])
    expect(page.locator(".public-list")).to_contain_text(first_published[1])
    expect(page.locator(".public-list")).not_to_contain_text(seeded[2][1])
    check_axe(vigia, page, "public-list")
    sources.append(page.content())
    shot(vigia, page, "public-list-es-1280")
    page.locator(".public-list a", has_text=first_published[1]).click()
    page.wait_for_url(f"**/publico/incidentes/{first_published[0]}")
    expect(page.locator("h1")).to_have_text(first_published[1])
    check_axe(vigia, page, "public-incident")
    sources.append(page.content())
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(vigia, page, f"public-incident-es-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    assert not context.cookies(), "the public pages set no cookie"
    # English, through the switch (its cookie is the only one).
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    sources.append(page.content())
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(vigia, page, f"public-incident-en-{width}")
    goto(page, vigia.base + "/publico")
    # A selector, not wait_for_function: its string predicate is eval, which the CSP refuses.
    page.wait_for_selector("#public-map[data-markers]", state="attached")
    shot(vigia, page, "public-map-en-390")
    goto(page, vigia.base + "/publico/cifras")
    sources.append(page.content())
    shot(vigia, page, "public-figures-en-390")

    # An internal incident is not there.
    goto(page, vigia.base + f"/publico/incidentes/{seeded[2][0]}", status=404)

    # No page source holds a stored point.
    text = "\n".join(sources)
    for _, _, lat, lon, _ in seeded:
        for s in spellings(lat) + spellings(lon):
            assert s not in text, s
    assert {c["name"] for c in context.cookies()} == {"vigia_lang"}
    context.close()
