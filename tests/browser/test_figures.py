""""Cifras" in a real Chromium: the three charts drawn on the server, the
filters, and each chart downloaded as SVG, PNG (made in the browser from
the inline SVG) and CSV, the files read back; the page at laptop and phone
widths, in Spanish and English, held to axe."""

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

from conftest import allow_console_error, api, check_axe, goto, shot

# Incidents of 1991, a year no other test logs: the figures with that
# year's filter are exactly these.
YEAR = "1991"
FILTER = f"from={YEAR}-01-01&to={YEAR}-12-31"
INCIDENTS = [
    # In the Los Chancas concession (held by Southern, see run.sh).
    ("protest", f"{YEAR}-02-10", -14.22, -73.09, 1),
    ("protest", f"{YEAR}-02-20", -14.22, -73.09, 0),
    ("blockade", f"{YEAR}-04-05", -14.22, -73.09, 0),
    # Lima.
    ("riot", f"{YEAR}-04-15", -12.05, -77.04, 2),
]
SIZES = [(1280, 900), (390, 844)]


@pytest.fixture(scope="module")
def seeded(vigia):
    for event_type, on, lat, lon, fatalities in INCIDENTS:
        status, body = api(vigia, "POST", "/api/v1/events", {
            "title": f"Cifras {event_type} {on}",
            "event_type": event_type,
            "occurred_on": on,
            "location": {"lat": lat, "lon": lon},
            "fatalities": fatalities,
        })
        assert status == 201, body
    return True


def downloaded(page, locator):
    with page.expect_download() as info:
        locator.click()
    download = info.value
    path = download.path()
    with open(path, "rb") as f:
        return download.suggested_filename, f.read()


@pytest.fixture
def page(admin):
    """A tab of its own in the admin's browser: the other tests' tab stays
    where they left it."""
    tab = admin.context.new_page()
    yield tab
    tab.close()


def test_the_figures_page_draws_three_charts_and_downloads_them(vigia, page, seeded):
    goto(page, vigia.base + "/")
    page.locator("header nav a", has_text="Cifras").click()
    page.wait_for_url(vigia.base + "/cifras")
    for chart in ["months", "regions", "holders"]:
        expect(page.locator(f"#figure-{chart} .chart-wrap svg")).to_be_visible()
    # The map draws Peru's 25 regions (their districts dissolved), each
    # filled by its count.
    expect(page.locator("#figure-regions svg path")).to_have_count(25)
    check_axe(vigia, page, "figures")

    # The filters: the year of this test's incidents.
    page.fill("#f-from", f"{YEAR}-01-01")
    page.fill("#f-to", f"{YEAR}-12-31")
    page.locator("#figure-filters button[type=submit]").click()
    page.wait_for_url(f"**/cifras?{FILTER}*")
    expect(page.locator("#figures-total")).to_contain_text("4 incidentes")
    expect(page.locator("#figures-total")).to_contain_text("Muertes: 3")
    months = page.locator("#figure-months table.numbers tbody tr")
    # February to April, March with none.
    expect(months).to_have_count(3)
    expect(months.nth(1)).to_contain_text(f"{YEAR}-03")
    # Southern's concession sees three.
    holders = page.locator("#figure-holders table.numbers tbody tr")
    expect(holders).to_have_count(1)
    expect(holders.first.locator("th")).to_contain_text(re.compile("southern", re.I))
    expect(holders.first.locator("td").first).to_have_text("3")
    expect(page.locator("#figure-holders svg")).to_contain_text(re.compile("southern", re.I))
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        shot(vigia, page, f"figures-es-{width}")
        # Nothing wider than the screen (wide tables scroll in their box).
        culprits = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
                && e.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
            .map((e) => e.tagName + '.' + e.className + '#' + e.id + ' ' + e.getBoundingClientRect().right)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, culprits
    page.set_viewport_size({"width": 1280, "height": 900})

    # SVG: a file that parses as XML, an <svg> with its title.
    name, svg = downloaded(page, page.locator("#figure-months a.download-svg"))
    assert name.endswith(".svg")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Incidentes por mes y tipo"
    # Three protests and riots drawn as stacked rects with their counts.
    tips = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert f"{YEAR}-02 · protesta: 2" in tips, tips
    name, map_svg = downloaded(page, page.locator("#figure-regions a.download-svg"))
    assert ET.fromstring(map_svg).tag == "{http://www.w3.org/2000/svg}svg"

    # PNG: made by the page's script.
    for chart in ["months", "regions", "holders"]:
        name, png = downloaded(page, page.locator(f"#figure-{chart} button.download-png"))
        assert name == f"vigia-{chart}.png"
        assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:16]
        assert len(png) > 1000

    # CSV: the chart's numbers.
    name, data = downloaded(page, page.locator("#figure-regions a.download-csv"))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    by_region = {r["region"]: r for r in rows}
    assert by_region["03"]["region_name"] == "APURIMAC"
    assert by_region["03"]["count"] == "3"
    assert by_region["15"]["count"] == "1"
    assert by_region["total"]["count"] == "4"
    name, data = downloaded(page, page.locator("#figure-months a.download-csv"))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert {(r["month"], r["event_type"], r["count"]) for r in rows} == {
        (f"{YEAR}-02", "protest", "2"),
        (f"{YEAR}-04", "blockade", "1"),
        (f"{YEAR}-04", "riot", "1"),
        ("total", "", "4"),
    }

    # One region: the map shows its provinces.
    page.select_option("#f-ubigeo", "03")
    page.locator("#figure-filters button[type=submit]").click()
    page.wait_for_url("**/cifras?*ubigeo=03*")
    expect(page.locator("#regions-heading")).to_contain_text("provincia")
    expect(page.locator("#figures-total")).to_contain_text("3 incidentes")
    expect(page.locator("#figure-regions table.numbers tbody tr")).to_have_count(1)
    expect(page.locator("#figure-regions table.numbers tbody tr").first).to_contain_text("AYMARAES")
    shot(vigia, page, "figures-es-region")

    # A refused filter: the page says why (a 400, which the console logs),
    # with the form kept.
    allow_console_error(r"status of 400")
    goto(page, vigia.base + "/cifras?from=2020-02-01&to=2020-01-01", status=400)
    expect(page.locator("#figures-error")).to_be_visible()
    expect(page.locator("#f-from")).to_have_value("2020-02-01")


def test_the_figures_page_in_english(vigia, page, seeded):
    goto(page, vigia.base + f"/cifras?{FILTER}")
    page.locator("header a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    try:
        expect(page.locator("h1")).to_have_text("Figures")
        expect(page.locator("#months-heading")).to_have_text("Incidents per month and type")
        expect(page.locator("#figure-months svg title").first).to_have_text("Incidents per month and type")
        expect(page.locator("#figures-total")).to_contain_text("4 incidents")
        name, svg = downloaded(page, page.locator("#figure-holders a.download-svg"))
        root = ET.fromstring(svg)
        assert root.find("{http://www.w3.org/2000/svg}title").text.startswith("Holders whose")
        check_axe(vigia, page, "figures (English)")
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            shot(vigia, page, f"figures-en-{width}")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
        goto(page, vigia.base + "/cifras")
        page.locator("header a.lang").click()
        expect(page.locator("html")).to_have_attribute("lang", "es")
