"""The analysts' pages in a real Chromium: a report's entries uploaded with
two bad rows (shown, then only the valid ones imported), the month's
reconciliation worked in one click, a suggested case linked and another
dismissed from an incident's page, and the review queue worked without
leaving the page. Each page is checked with axe and photographed at a
laptop's and a phone's width.

The month is February 2011 (report 84), which no other test uses, so the
reconciliation sees only what this file logs."""

import re

import pytest
from playwright.sync_api import expect

from conftest import allow_console_error, api, check_axe, goto, shot

MONTH = "2011-02"
REPORT = 84
COMPANY = "Minera Ejemplo Abancay S.A.C."
FIRE = "Incendian la planta de Minera Ejemplo en Tamburco"
BLOCKADE = "Comuneros bloquean el acceso a la planta de Tamburco"
CASE = "Tamburco - Minera Ejemplo (planta de beneficio)"
NEIGHBOUR = "Curahuasi - Comunidad de Ccollpa"

HEADER = ("report_number,report_month,case_name,case_type,activity,region,province,"
          "district,ubigeo,companies,status,phase,violence,dialogue,description\n")
ROWS = [
    f'84,2011-02,"{CASE}",Socioambiental,Minería,Apurímac,Abancay,Tamburco,030106,'
    f'"{COMPANY}",Activo,Crisis,Sí,no,"Incendio de la planta."\n',
    f'84,2011-02,"{NEIGHBOUR}",Socioambiental,Minería,Apurímac,Abancay,Curahuasi,030104,,'
    'latente,,no,no,\n',
    # Two bad rows: a month that does not exist, a flag that is not sí/no.
    '84,2011-13,Las Bambas,Socioambiental,Minería,Apurímac,Cotabambas,Challhuahuacho,030506,,'
    'activo,,no,no,\n',
    '84,2011-02,Chalhuanca,Socioambiental,Minería,Apurímac,Aymaraes,Chalhuanca,030401,,'
    'activo,,quizás,no,\n',
]


def log(vigia, title: str, day: str, verification: str = "unverified") -> str:
    status, event = api(vigia, "POST", "/api/v1/events", {
        "title": title, "event_type": "property_destruction", "occurred_on": day,
        "location": {"lat": -13.62, "lon": -72.87, "precision": "near"},
        "admin": {"ubigeo": "030106", "region": "Apurímac", "province": "Abancay",
                  "district": "Tamburco"},
        "verification": verification})
    assert status == 201, event
    return event["id"]


@pytest.fixture(scope="module")
def month(vigia):
    """February 2011: the fire, with the company as its target, and a
    blockade nobody tied to a company."""
    status, company = api(vigia, "POST", "/api/v1/actors", {"name": COMPANY, "kind": "company"})
    assert status == 201, company
    fire = log(vigia, FIRE, "2011-02-10")
    status, linked = api(vigia, "POST", f"/api/v1/events/{fire}/actors", {
        "actor_id": company["id"], "role": "target", "attribution": "confirmed"})
    assert status == 200, linked
    blockade = log(vigia, BLOCKADE, "2011-02-20")
    return {"fire": fire, "blockade": blockade}


def test_an_analyst_uploads_a_report_sees_two_bad_rows_and_imports_the_valid_ones(
        vigia, monitor, month, tmp_path):
    page = monitor.page
    goto(page, vigia.base + "/cases")
    page.get_by_role("link", name="Importar entradas de reportes (CSV)").click()
    expect(page).to_have_title("Importar entradas de los reportes · Vigía")
    check_axe(vigia, page, "entries import (empty)")

    path = tmp_path / "reporte-84.csv"
    path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    page.set_input_files("#entries-file", str(path))
    # The check answers 422 (nothing written), which Chromium logs.
    allow_console_error(r"status of 422")
    page.get_by_role("button", name="Revisar e importar").click()
    expect(page.locator("main")).to_contain_text("No se escribió nada")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("4")
    expect(rows.nth(0)).to_contain_text("report_month")
    expect(rows.nth(1)).to_contain_text("violence")
    expect(rows.nth(1)).to_contain_text("quizás")
    shot(vigia, page, "entries-import-bad-rows")
    check_axe(vigia, page, "entries import (bad rows)")
    status, found = api(vigia, "GET", "/api/v1/cases?q=tamburco")
    assert status == 200 and found["items"] == [], "nothing is written yet"

    # The valid rows, without choosing the file again.
    page.get_by_role("button", name="Importar solo las filas válidas").click()
    notice = page.locator(".notice")
    expect(notice).to_contain_text("Importación hecha: reporte-84.csv")
    expect(notice).to_contain_text("casos nuevos: 2")
    expect(notice).to_contain_text("filas omitidas: 2")
    shot(vigia, page, "entries-import-done")
    status, found = api(vigia, "GET", "/api/v1/cases?q=tamburco")
    assert status == 200 and [c["name"] for c in found["items"]] == [CASE], found


def test_the_reconciliation_of_a_month_is_worked_in_one_click(vigia, monitor, month):
    page = monitor.page
    goto(page, vigia.base + "/cases")
    page.get_by_role("link", name="Conciliar un reporte").click()
    page.fill("#r-month", MONTH)
    page.get_by_role("button", name="Conciliar").click()
    expect(page.locator("main h2")).to_have_text(f"Reporte {REPORT} ({MONTH})")
    cases = page.locator("section[aria-labelledby=r-cases]")
    incidents = page.locator("section[aria-labelledby=r-incidents]")
    expect(cases).to_contain_text(CASE)
    expect(cases).to_contain_text(NEIGHBOUR)
    expect(incidents).to_contain_text(FIRE)
    shot(vigia, page, "reconciliation")
    check_axe(vigia, page, "reconciliation")

    # The fire's case is offered beside the fire: one click links them.
    fire = incidents.locator("li", has_text=FIRE)
    fire.get_by_role("button", name=re.compile(f"Vincular a {re.escape(CASE)}")).click()
    expect(page.locator(".notice")).to_have_text("Incidente vinculado al caso.")
    expect(page).to_have_url(re.compile(r"/reconciliation\?report=&month=2011-02&linked=1$"))
    expect(cases).not_to_contain_text(CASE)
    expect(cases).to_contain_text(NEIGHBOUR)
    expect(incidents).not_to_contain_text(FIRE)
    status, event = api(vigia, "GET", f"/api/v1/events/{month['fire']}")
    assert [c["name"] for c in event["cases"]] == [CASE], event

    # The case's page now lists the fire, on its small map too.
    goto(page, vigia.base + f"/cases/{event['cases'][0]['id']}")
    expect(page.locator("main")).to_contain_text(FIRE)
    expect(page.locator("#incident-map path.leaflet-interactive")).to_have_count(1)
    shot(vigia, page, "case-with-map")
    check_axe(vigia, page, "case page with map")

    # On a phone the two lists stack, without scrolling sideways.
    phone = monitor.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    goto(phone, vigia.base + f"/reconciliation?report={REPORT}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(vigia, phone, "reconciliation-phone")
    phone.close()


def test_a_suggested_case_is_linked_and_another_dismissed_from_the_incident(
        vigia, monitor, month):
    page = monitor.page
    goto(page, vigia.base + f"/incidents/{month['blockade']}")
    suggestions = page.locator("ul.case-suggestions > li")
    tamburco = suggestions.filter(has_text=CASE)
    curahuasi = suggestions.filter(has_text=NEIGHBOUR)
    expect(tamburco).to_contain_text("mismo distrito (030106)")
    expect(curahuasi).to_contain_text("misma provincia (0301)")
    shot(vigia, page, "incident-suggestions")
    check_axe(vigia, page, "incident with suggestions")

    curahuasi.get_by_role("button", name=f"Descartar: {NEIGHBOUR}").click()
    expect(page.locator(".notice")).to_contain_text("Sugerencia descartada")
    expect(page.locator("ul.case-suggestions")).not_to_contain_text(NEIGHBOUR)

    page.locator("ul.case-suggestions > li", has_text=CASE).get_by_role(
        "button", name=f"Vincular: {CASE}").click()
    expect(page.locator(".notice")).to_have_text("Incidente vinculado al caso.")
    expect(page.locator(f"a[href^='/cases/']", has_text=CASE).first).to_be_visible()
    expect(page.locator("main")).to_contain_text("Ningún caso parece corresponder")
    # Dismissed stays dismissed when the page comes back.
    goto(page, vigia.base + f"/incidents/{month['blockade']}")
    expect(page.locator("main")).not_to_contain_text(NEIGHBOUR)


def test_the_review_queue_is_worked_without_leaving_the_page(vigia, monitor, month):
    page = monitor.page
    goto(page, vigia.base + "/review")
    expect(page).to_have_title("Incidentes por verificar · Vigía")
    waiting = page.locator("#review-waiting")
    before = int(re.search(r"\d+", waiting.inner_text()).group(0))
    item = page.locator(".review-item", has_text=FIRE)
    expect(item).to_be_visible()
    shot(vigia, page, "review-queue")
    check_axe(vigia, page, "review queue")

    # A marker on the window survives only if the page is not reloaded.
    page.evaluate("window.__stayed = true")
    item.get_by_label("Nota (por qué)").fill("Confirmado por la comisaría de Tamburco.")
    item.get_by_role("button", name="Verificar").click()
    expect(page.locator(".review-item", has_text=FIRE)).to_have_count(0)
    expect(page.locator("#review-status")).to_contain_text(f"Listo: «{FIRE}».")
    expect(waiting).to_have_text(f"{before - 1} por verificar")
    assert page.evaluate("window.__stayed === true"), "the page was not left"
    status, event = api(vigia, "GET", f"/api/v1/events/{month['fire']}")
    assert event["verification"] == "verified", event
    assert event["verification_note"] == "Confirmado por la comisaría de Tamburco."

    # The next one is disputed the same way.
    item = page.locator(".review-item", has_text=BLOCKADE)
    item.get_by_role("button", name="Disputar").click()
    expect(page.locator(".review-item", has_text=BLOCKADE)).to_have_count(0)
    status, event = api(vigia, "GET", f"/api/v1/events/{month['blockade']}")
    assert event["verification"] == "disputed", event

    phone = monitor.context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    goto(phone, vigia.base + "/review")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(vigia, phone, "review-queue-phone")
    phone.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_analysts_pages_read_in_english(vigia, monitor, month, new_context, width):
    context = new_context(
        locale="en-US",
        viewport={"width": width, "height": 900},
        storage_state=monitor.context.storage_state(),
    )
    page = context.new_page()
    for name, path, heading in [
        ("review", "/review", "Incidents to verify"),
        ("reconciliation", f"/reconciliation?report={REPORT}", "Reconcile a report"),
        ("import", "/cases/import", "Import report entries"),
        ("incident", f"/incidents/{month['blockade']}", BLOCKADE),
    ]:
        goto(page, vigia.base + path)
        expect(page.locator("h1")).to_have_text(heading)
        if name == "reconciliation":
            expect(page.locator("main h2")).to_have_text(f"Report {REPORT} ({MONTH})")
        if name == "incident":
            expect(page.locator("main")).to_contain_text("Possible Defensoría cases")
        size = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert size[0] <= size[1], f"{path} scrolls sideways at {width}px"
        shot(vigia, page, f"en-{name}-{width}")
        check_axe(vigia, page, f"{path} in English at {width}px")
    context.close()
