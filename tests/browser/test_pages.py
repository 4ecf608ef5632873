"""Vigía's pages in a real Chromium, as people use them: sign in through an
invitation, log the Los Chancas fire through the form (the point by
clicking the map, SPCC found as you type), find it on the map and in the
list, a conflicting edit, hostile text, a cross-site form, the language
switch, accessibility (axe-core) and a phone-sized screen.

Every test also fails on a console error, an uncaught page error or a
dialog (conftest.no_console_errors)."""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from conftest import (
    allow_console_error,
    api,
    check_axe,
    count_incidents,
    expect_confirm,
    goto,
    shot,
)

TITLE = "Queman campamento del proyecto Los Chancas"
SPCC = "Southern Perú Copper Corporation"
HOSTILE = "<img src=x onerror=alert(1)>"
# The camp, as the Defensoría's compilation places the case (Pocohuanca).
CAMP = (-14.219, -73.088)
INCIDENT_URL = re.compile(r"/incidents/[0-9a-f-]{36}(\?.*)?$")


def incident_id(url: str) -> str:
    return re.search(r"/incidents/([0-9a-f-]{36})", url).group(1)


def save_form(page):
    page.locator("#incident-form button[type=submit].primary").click()


def type_point(page, lat: float, lon: float):
    """Types a point; the map recentres on it and its district shows."""
    page.fill("#lat", str(lat))
    page.fill("#lon", str(lon))
    expect(page.locator("#point-map .leaflet-marker-icon")).to_be_visible()


# ------------------------------------------------------------ 1. sign in


def test_sign_in_through_the_invitation_link(vigia, admin, new_context):
    # Signed out, `/` is the sign-in page, in Spanish.
    page = new_context().new_page()
    goto(page, vigia.base + "/")
    assert page.url == vigia.base + "/sign-in"
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_title("Iniciar sesión · Vigía")
    shot(vigia, page, "sign-in")
    check_axe(vigia, page, "sign in")

    # The admin's link (from `vigia users create`) led to "choose a
    # password", greeted her by name, and once chosen to the incidents.
    assert admin.set_password_title == "Elegir una contraseña · Vigía"
    assert "Ana Quispe" in admin.greeting
    assert admin.landed_on == vigia.base + "/"
    page = admin.page
    expect(page).to_have_title("Incidentes · Vigía")
    expect(page.locator("header nav")).to_contain_text("Administración")
    assert any(c["name"] == "vigia_session" and c["httpOnly"] for c in admin.storage["cookies"])

    # The link worked once.
    again = new_context().new_page()
    allow_console_error(r"status of 404")
    goto(again, vigia.admin_link, status=404)
    expect(again.locator("main")).to_contain_text("Este enlace ya no sirve")


# ------------------------------------------------- 2. log Los Chancas


@dataclass
class Logged:
    id: str
    url: str


@pytest.fixture(scope="module")
def case_id(vigia) -> str:
    """The Defensoría's Los Chancas case, in two reports."""
    status, case = api(vigia, "POST", "/api/v1/cases", {
        "name": "Tiaparo - Tapayrihua - SPCC (Los Chancas)", "case_type": "socioambiental",
        "activity": "minería", "region": "Apurímac", "province": "Aymaraes",
        "district": "Pocohuanca", "ubigeo": "030410"})
    assert status == 201, case
    for number, month, state, phase, violence in [
        (218, "2022-04", "latente", "fase_temprana", False),
        (219, "2022-05", "activo", "crisis", True),
        (220, "2022-06", "activo", "desescalamiento", False),
        (221, "2022-07", "activo", "dialogo", False),
    ]:
        status, entry = api(vigia, "POST", f"/api/v1/cases/{case['id']}/entries", {
            "report_number": number, "report_month": month, "status": state, "phase": phase,
            "violence": violence, "dialogue": phase == "dialogo",
            "description": "Informales queman el campamento" if violence else "Mesa de trabajo"})
        assert status == 201, entry
    return case["id"]


@pytest.fixture(scope="module")
def chancas(vigia, admin) -> Logged:
    """The Los Chancas fire, logged through the form by clicking the map."""
    page = admin.page
    goto(page, vigia.base + "/incidents/new")
    expect(page).to_have_title("Nuevo incidente · Vigía")
    shot(vigia, page, "form-empty")
    check_axe(vigia, page, "incident form")

    page.fill("#title", TITLE)
    page.select_option("#event_type", "property_destruction")
    expect(page.locator("#event_type option:checked")).to_have_text("destrucción de propiedad")
    page.fill("#occurred_on", "2022-05-01")
    page.select_option("#time_precision", "month")

    # Typed coordinates put the marker on the map of Peru; the wheel zooms
    # in around it, and a click on the map just below the marker's tip
    # chooses the point there.
    type_point(page, *CAMP)
    district = page.locator("#district-of-point")
    expect(district).to_contain_text("POCOHUANCA", ignore_case=True)
    icon = page.locator("#point-map .leaflet-marker-icon")
    for _ in range(5):
        tip = icon.bounding_box()
        page.mouse.move(tip["x"] + tip["width"] / 2, tip["y"] + tip["height"])
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(400)
    # The last wheel's zoom may still be animating on a busy machine.
    page.wait_for_function(
        "() => !document.querySelector('#point-map').classList.contains('leaflet-zoom-anim')"
    )
    tip = icon.bounding_box()
    shot(vigia, page, "form-point-map")
    page.mouse.click(tip["x"] + tip["width"] / 2, tip["y"] + tip["height"] + 6)
    lat = float(page.input_value("#lat"))
    lon = float(page.input_value("#lon"))
    assert lat != CAMP[0] and abs(lat - CAMP[0]) < 0.01, lat
    assert abs(lon - CAMP[1]) < 0.01, lon
    expect(district).to_contain_text("POCOHUANCA", ignore_case=True)
    expect(district).to_contain_text("030410")

    # SPCC, found by its alias as it is typed.
    page.locator("#actor-search").press_sequentially("SPCC", delay=40)
    suggestion = page.locator("#actor-search-listbox [role=option]", has_text=SPCC)
    expect(suggestion).to_be_visible()
    expect(page.locator("#actor-search")).to_have_attribute("aria-expanded", "true")
    suggestion.click()
    row = page.locator("#actor-rows tbody tr", has_text=SPCC)
    expect(row).to_have_count(1)
    row.locator("select[name=actor_role]").select_option("perpetrator")
    row.locator("select[name=actor_attribution]").select_option("alleged")
    expect(row.locator("select[name=actor_attribution] option:checked")).to_have_text("presunto")

    # A source row added by mistake goes again with its "Quitar" button.
    add_source = page.get_by_role("button", name="Añadir una fuente")
    add_source.click()
    add_source.click()
    rows = page.locator("#source-rows .source-row")
    expect(rows).to_have_count(2)
    rows.last.get_by_role("button", name="Quitar").click()
    expect(rows).to_have_count(1)
    source = rows.last
    source.locator("input[name=source_publisher]").fill("Instituto de Ingenieros de Minas del Perú")
    source.locator("input[name=source_title]").fill("Queman campamento de Los Chancas")
    source.locator("input[name=source_url]").fill("https://www.iimp.org.pe/")
    source.locator("input[name=source_published_on]").fill("2022-05-20")
    shot(vigia, page, "form-filled")
    check_axe(vigia, page, "incident form, filled")

    save_form(page)
    page.wait_for_url(INCIDENT_URL)
    return Logged(incident_id(page.url), page.url.split("?")[0])


def test_log_los_chancas_through_the_form(vigia, admin, chancas):
    page = admin.page
    goto(page, chancas.url)
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator(".when-where")).to_contain_text("mayo de 2022")
    actors = page.locator("ul.actors")
    expect(actors).to_contain_text(SPCC)
    expect(actors).to_contain_text("presunto")
    expect(page.locator("main")).to_contain_text("Pocohuanca", ignore_case=True)
    expect(page.locator("ul.sources a")).to_have_attribute("rel", "noopener noreferrer")
    # Inside the Los Chancas concession, which the page lists.
    expect(page.locator("ul.concessions")).to_contain_text("LOS CHANCAS 1")
    shot(vigia, page, "incident")
    check_axe(vigia, page, "incident page")
    # The API agrees.
    status, event = api(vigia, "GET", f"/api/v1/events/{chancas.id}")
    assert status == 200
    assert event["time_precision"] == "month"
    assert event["admin"]["ubigeo"] == "030410"
    assert [a["role"] for a in event["actors"]] == ["perpetrator"]


# --------------------------------------------- 3. on the map and the list


def test_it_is_on_the_map_and_in_the_list(vigia, admin, chancas):
    page = admin.page
    # Filtered, as a person looking for it would: other files' incidents
    # (Tamburco's, 70 km away) would otherwise share its first cluster.
    goto(page, vigia.base + "/?q=campamento+chancas")
    expect(page.locator("#incident-list")).to_contain_text(TITLE)
    # The map draws it: as a marker, or in a cluster or grid cell.
    anything = page.locator("#map .map-marker, #map .marker-cluster, #map .map-cell")
    expect(anything.first).to_be_visible()
    marker = page.locator(f'#map .map-marker[title="{TITLE}"]')
    for _ in range(12):
        wait_for_map_idle(page)
        if marker.count():
            break
        # A cluster or a cell: clicking it zooms in on what it holds, and the
        # zoom replaces it (a new cluster icon, or the cells' next load). A
        # cluster whose incidents still share one spot at the closest zoom
        # stays and spreads them around it instead (the ACLED import's
        # Tapairihua row lies a few metres from the camp). On a busy machine
        # the zoom and the load take their time: wait for either, not for a
        # fixed while.
        clicked = page.locator("#map .marker-cluster, #map .map-cell").first.element_handle()
        clicked.click()
        page.wait_for_function(
            """([el, title]) => !el.isConnected
                || [...document.querySelectorAll('#map .map-marker')].some((m) => m.title === title)""",
            arg=[clicked, TITLE],
            timeout=20_000,
        )
    expect(marker).to_be_visible()
    shot(vigia, page, "incidents-map")
    check_axe(vigia, page, "incidents")
    marker.click()
    link = page.locator(".leaflet-popup .map-popup a")
    expect(link).to_have_text(TITLE)
    link.click()
    page.wait_for_url(INCIDENT_URL)
    assert incident_id(page.url) == chancas.id


def wait_for_map_idle(page):
    """Until the map neither animates a zoom nor loads a layer."""
    page.wait_for_function(
        """() => {
            const map = document.querySelector('#map');
            const status = map && map.querySelector('.map-status');
            return map && !map.classList.contains('leaflet-zoom-anim')
                && status && status.hidden;
        }""",
        timeout=20_000,
    )


# --------------------------------------------------- 4. conflicting edits


def test_a_conflicting_edit_shows_both_versions(vigia, admin, monitor, chancas):
    edit = f"{chancas.url}/edit"
    ana, ben = admin.page, monitor.page
    goto(ana, edit)
    goto(ben, edit)
    expect(ben.locator("#district-of-point")).to_contain_text("POCOHUANCA", ignore_case=True)

    ana.fill("#title", "Incendian el campamento de Los Chancas")
    save_form(ana)
    ana.wait_for_url(INCIDENT_URL)
    expect(ana.locator("h1")).to_have_text("Incendian el campamento de Los Chancas")

    allow_console_error(r"status of 409")
    ben.fill("#title", "Queman campamento minero de Los Chancas")
    save_form(ben)
    conflict = ben.locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Otra persona cambió este incidente")
    expect(conflict).to_contain_text("Incendian el campamento de Los Chancas")
    expect(conflict).to_contain_text("Queman campamento minero de Los Chancas")
    # Nothing was overwritten meanwhile.
    assert api(vigia, "GET", f"/api/v1/events/{chancas.id}")[1]["title"] == (
        "Incendian el campamento de Los Chancas"
    )
    shot(vigia, ben, "conflict")
    check_axe(vigia, ben, "conflict")

    ben.get_by_role("button", name="Guardar mis cambios en su lugar").click()
    ben.wait_for_url(INCIDENT_URL)
    expect(ben.locator("h1")).to_have_text("Queman campamento minero de Los Chancas")
    # The rest of what Ben had in his form came along: the actor, the source.
    expect(ben.locator("ul.actors")).to_contain_text(SPCC)
    expect(ben.locator("ul.sources")).to_contain_text("Instituto de Ingenieros de Minas")
    event = api(vigia, "GET", f"/api/v1/events/{chancas.id}")[1]
    assert event["title"] == "Queman campamento minero de Los Chancas"
    assert event["version"] == 3

    # Back to the title the other tests look for.
    goto(ben, edit)
    ben.fill("#title", TITLE)
    save_form(ben)
    ben.wait_for_url(INCIDENT_URL)


# ---------------------------------------------------------- 5. hostile text


def test_a_hostile_title_is_text_everywhere(vigia, monitor, chancas):
    page = monitor.page
    goto(page, vigia.base + "/incidents/new")
    page.fill("#title", HOSTILE)
    page.fill("#description", '"><script>alert(2)</script>')
    page.select_option("#event_type", "blockade")
    page.fill("#occurred_on", "2023-01-10")
    type_point(page, -14.215, -73.092)
    expect(page.locator("#district-of-point")).not_to_be_empty()
    save_form(page)
    page.wait_for_url(INCIDENT_URL)

    expect(page.locator("h1")).to_have_text(HOSTILE)
    assert page.title().startswith(HOSTILE)
    expect(page.locator(".description")).to_have_text('"><script>alert(2)</script>')
    assert page.locator("img[src=x]").count() == 0
    shot(vigia, page, "hostile-incident")

    goto(page, vigia.base + "/?q=onerror")
    expect(page.locator("#incident-list a")).to_have_text([HOSTILE])
    marker = page.locator("#map .map-marker").first
    expect(marker).to_be_visible()
    marker.click()
    expect(page.locator(".leaflet-popup .map-popup a")).to_have_text(HOSTILE)
    assert page.locator("img[src=x]").count() == 0
    shot(vigia, page, "hostile-list")

    goto(page, f"{vigia.base}/concessions/{vigia.concession_id}")
    expect(page.locator("main")).to_contain_text(HOSTILE)
    # No such element exists, so no onerror handler can ever fire.
    assert page.locator("img[src=x]").count() == 0


# ------------------------------------------------------ 6. cross-site form


EVIL_FORM = """<!doctype html><html lang="en"><head><title>Win a prize</title></head><body>
<form id="f" method="post" action="{action}">
<input name="csrf" value="{csrf}"><input name="title" value="Incidente falso">
<input name="event_type" value="blockade"><input name="occurred_on" value="2022-05-01">
<input name="time_precision" value="day"><input name="lat" value="-14.2191"><input name="lon" value="-73.0884">
</form><script>document.getElementById('f').submit()</script></body></html>"""


@pytest.mark.parametrize(
    "origin",
    [
        # Another site altogether: the session cookie (SameSite=Lax) stays home.
        "http://evil.localhost:{port}",
        # The same site on another port: the cookie goes along, and even
        # with the page's own token the server refuses by the Origin.
        "http://127.0.0.1:{other}",
    ],
)
def test_a_cross_site_form_post_is_refused(vigia, admin, origin):
    port = int(vigia.base.rsplit(":", 1)[1])
    origin = origin.format(port=port, other=port + 1 if port < 65535 else port - 1)
    page = admin.page
    goto(page, vigia.base + "/incidents/new")
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    before = count_incidents(vigia)

    evil = admin.context.new_page()
    html = EVIL_FORM.format(action=vigia.base + "/incidents/new", csrf=csrf)
    evil.route(origin + "/prize.html", lambda route: route.fulfill(content_type="text/html", body=html))
    allow_console_error(r"status of 403")
    with evil.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/incidents/new")) as posted:
        evil.goto(origin + "/prize.html")
    answer = posted.value
    assert answer.status == 403, f"the cross-site POST got {answer.status}"
    evil.wait_for_load_state()
    expect(evil.locator("main")).to_contain_text("no vino de una página de Vigía")
    shot(vigia, evil, "cross-site-refused")
    evil.close()
    assert count_incidents(vigia) == before


# ----------------------------------------------------- 7. language switch


def test_the_language_switch_is_remembered(vigia, admin, chancas):
    page = admin.page
    goto(page, vigia.base + "/")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.rstrip("/") == vigia.base
    expect(page.locator("#list-heading")).to_have_text("Incidents")
    expect(page).to_have_title("Incidents · Vigía")
    # Elsewhere, still English (over the browser's Spanish).
    goto(page, chancas.url)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".when-where")).to_contain_text("May 2022")
    goto(page, vigia.base + "/incidents/new")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("New incident")
    shot(vigia, page, "form-english")
    check_axe(vigia, page, "incident form, English")
    page.get_by_role("link", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text("Nuevo incidente")
    goto(page, vigia.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "es")


# ------------------------------------------------------------- 8. axe


def test_every_page_passes_axe(vigia, admin, chancas, case_id, new_context):
    page = admin.page
    pages = [
        ("incidents", "/"),
        ("incident-form", "/incidents/new"),
        ("incident", f"/incidents/{chancas.id}"),
        ("incident-edit", f"/incidents/{chancas.id}/edit"),
        ("users", "/users"),
        ("account", "/account"),
        ("concession", f"/concessions/{vigia.concession_id}"),
        ("actor", f"/actors/{vigia.actor_id}"),
        ("cases", "/cases"),
        ("case", f"/cases/{case_id}"),
        ("keys", "/keys"),
    ]
    for name, path in pages:
        goto(page, vigia.base + path)
        page.wait_for_load_state("networkidle")
        shot(vigia, page, f"axe-{name}")
        check_axe(vigia, page, name)

    # Pages with what people typed wrong on them.
    goto(page, vigia.base + "/users")
    page.fill("#invite-email", "carla.huaman@example.org")
    page.fill("#invite-name", "Carla Huamán")
    page.select_option("#invite-role", "researcher")
    page.locator("form.grid-form button[type=submit]").click()
    expect(page.locator(".notice")).to_contain_text("carla.huaman@example.org")
    expect(page.locator("table.list")).to_contain_text("Carla Huamán")
    check_axe(vigia, page, "users, after an invitation")
    allow_console_error(r"status of (409|422)")
    page.fill("#invite-email", "carla.huaman@example.org")
    page.locator("form.grid-form button[type=submit]").click()
    expect(page.locator("#invite-email-error")).to_be_visible()
    shot(vigia, page, "users-error")
    check_axe(vigia, page, "users, address taken")

    goto(page, vigia.base + "/incidents/new")
    page.fill("#lat", "catorce")
    save_form(page)
    expect(page.locator("#title-error")).to_be_visible()
    shot(vigia, page, "form-errors")
    check_axe(vigia, page, "incident form with errors")

    # The pages of someone signed out.
    stranger = new_context().new_page()
    for name, path in [("sign-in", "/sign-in"), ("forgot", "/password/forgot")]:
        goto(stranger, vigia.base + path)
        check_axe(vigia, stranger, name)


# ----------------------------------------------------------- 9. a phone


@pytest.mark.parametrize("path", ["/", "/incidents/new", "/incidents/{id}", "/cases/{case}"])
def test_a_phone_screen_scrolls_only_down(vigia, admin, chancas, case_id, new_context, path):
    context = new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        storage_state=admin.storage,
    )
    page = context.new_page()
    goto(page, vigia.base + path.format(id=chancas.id, case=case_id))
    page.wait_for_load_state("networkidle")
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    name = {"/": "phone-incidents", "/incidents/new": "phone-form", "/cases/{case}": "phone-case"}.get(
        path, "phone-incident")
    shot(vigia, page, name)
    assert width[0] <= width[1], f"{path} scrolls sideways on a phone: {width[0]}px wide in {width[1]}px"
    check_axe(vigia, page, f"{path} on a phone")
    context.close()


# ------------------------------------------------ 10. the new pages in English


@pytest.mark.parametrize("width", [1280, 390])
def test_cases_and_the_form_read_in_english(vigia, admin, case_id, new_context, width):
    context = new_context(
        locale="en-US",
        viewport={"width": width, "height": 900},
        storage_state=admin.storage,
    )
    page = context.new_page()
    for name, path, heading in [
        ("cases", "/cases", "Cases of the Defensoría del Pueblo"),
        ("case", f"/cases/{case_id}", "Tiaparo - Tapayrihua - SPCC (Los Chancas)"),
        ("form", "/incidents/new", "New incident"),
        ("keys", "/keys", "API keys"),
    ]:
        goto(page, vigia.base + path)
        expect(page.locator("h1")).to_have_text(heading)
        if name == "case":
            expect(page.locator(".timeline")).to_contain_text("violent events")
            expect(page.locator("#attachments")).to_have_text("Photos and documents")
        if name == "form":
            expect(page.locator("label[for=district-search]")).to_have_text("Or find a district")
            expect(page.locator("label[for=photos]")).to_have_text("Add photos, videos or PDFs")
        size = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert size[0] <= size[1], f"{path} scrolls sideways at {width}px"
        shot(vigia, page, f"en-{name}-{width}")
        check_axe(vigia, page, f"{path} in English at {width}px")
    context.close()


# ------------------------------------------------------------ 11. API keys


def test_an_admin_makes_a_key_and_revokes_it(vigia, admin, new_context):
    context = new_context(storage_state=admin.storage)
    page = context.new_page()
    # Keys are reached through the administration hub in the nav.
    goto(page, vigia.base + "/")
    page.locator("header nav").get_by_role("link", name="Administración").click()
    page.locator(".admin-hub").get_by_role("link", name="Claves de la API").click()
    expect(page.locator("h1")).to_have_text("Claves de la API")
    page.fill("#key-name", "Script de R de la universidad")
    page.select_option("#key-role", "researcher")
    page.get_by_role("button", name="Crear la clave").click()
    token = page.locator("#new-token")
    expect(token).to_be_visible()
    value = token.input_value()
    assert value.startswith("vg_"), value
    expect(page.get_by_role("button", name="Copiar")).to_be_visible()
    shot(vigia, page, "keys-made")
    check_axe(vigia, page, "keys, a key just made")
    # The key works for a script.
    status, _ = api(vigia.with_key(value), "GET", "/api/v1/events?limit=1")
    assert status == 200
    goto(page, vigia.base + "/keys")
    expect(page.locator("body")).not_to_contain_text(value)
    expect_confirm(r"^Revocar la clave Script de R de la universidad\?")
    page.get_by_role("button", name="Revocar: Script de R de la universidad").click()
    expect(page.locator(".notice")).to_contain_text("fue revocada")
    status, _ = api(vigia.with_key(value), "GET", "/api/v1/events?limit=1")
    assert status == 401
    context.close()
