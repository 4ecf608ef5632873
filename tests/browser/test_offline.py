"""Offline capture (issue 13): the form opens without a network, what is
saved waits in the outbox (IndexedDB) with its photo and is sent exactly
once when the network comes back, also when the server's answer was lost
after it committed, and a double click makes one incident. The photo
arrives without the GPS position its EXIF held (read back with Pillow).

Expected console errors, allowed precisely: while the context is offline,
the page's own requests that cannot leave (the district lookup, the
outbox's token request) log `net::ERR_INTERNET_DISCONNECTED`; the answer
the test aborts logs `net::ERR_CONNECTION_RESET` (or `ERR_FAILED`); a 422
the server gives on purpose logs `status of 422`."""

import io
import re
import uuid

from PIL import Image
from playwright.sync_api import expect

from conftest import allow_console_error, api, check_axe, count_incidents, download, goto, shot

INCIDENT_URL = re.compile(r"/incidents/[0-9a-f-]{36}(\?.*)?$")
OFFLINE_ERRORS = r"net::ERR_INTERNET_DISCONNECTED"

READY = """async () => {
  const reg = await navigator.serviceWorker.getRegistration();
  // Active, and this page in its hands (clients.claim()).
  if (!reg || !reg.active || reg.active.state !== 'activated') return false;
  if (!navigator.serviceWorker.controller) return false;
  const form = await caches.match('/incidents/new');
  const list = await caches.match('/envios');
  const districts = await caches.match('/offline/districts.json');
  return Boolean(form && list && districts);
}"""


def signed_in_context(admin, new_context):
    """A context of its own (its own service worker and IndexedDB), signed
    in as Ana."""
    return new_context(storage_state=admin.storage)


def open_form_once(vigia, context):
    """The form, visited online once: the service worker keeps it."""
    page = context.new_page()
    goto(page, vigia.base + "/incidents/new")
    # (wait_for_function takes a Promise for true: poll with evaluate.)
    for _ in range(200):
        if page.evaluate(READY):
            return page
        page.wait_for_timeout(100)
    raise AssertionError("the service worker did not take the form in hand")


def fill(page, title: str, occurred_on: str = "2023-03-14"):
    page.fill("#title", title)
    page.select_option("#event_type", "blockade")
    page.fill("#occurred_on", occurred_on)
    page.fill("#lat", "-14.219")
    page.fill("#lon", "-73.088")


def save(page):
    page.locator("#incident-form button[type=submit].primary").click()


def titled(vigia, title: str) -> list:
    status, found = api(vigia, "GET", "/api/v1/events?limit=200&q=" + uuid_words(title))
    assert status == 200, found
    return [e for e in found["items"] if e["title"] == title]


def uuid_words(title: str) -> str:
    # The unique part of the title: a search word.
    return title.rsplit(" ", 1)[1]


GPS_IFD = 0x8825
ORIENTATION = 0x0112


def phone_photo() -> bytes:
    """A JPEG as a phone writes it: the place it was taken (GPS), the camera,
    turned 90° (orientation 6)."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Samsung"  # Make
    exif[GPS_IFD] = {1: "S", 2: (14.0, 5.0, 12.0), 3: "W", 4: (73.0, 10.0, 3.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (120, 80, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def attach_photo(page):
    page.set_input_files(
        "#photos",
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": phone_photo()}],
    )


def check_stored_photo(vigia, event: dict):
    """The incident has the one photo, without GPS, still turned."""
    [photo] = event["attachments"]
    assert photo["filename"] == "IMG_2041.jpg"
    stored = Image.open(io.BytesIO(download(vigia, photo["url"])))
    exif = stored.getexif()
    assert not exif.get_ifd(GPS_IFD), exif.get_ifd(GPS_IFD)
    assert GPS_IFD not in exif
    assert exif.get(ORIENTATION) == 6
    assert exif.get(0x010F) is None
    assert stored.size == (64, 32)


def outbox_items(page) -> list:
    return page.evaluate("() => window.VigiaOutbox.all()")


def test_the_app_installs(vigia, admin, new_context):
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    manifest = page.locator("link[rel=manifest]").get_attribute("href")
    answer = page.request.get(vigia.base + manifest)
    assert answer.status == 200
    body = answer.json()
    assert body["name"] == "Vigía" and body["start_url"] == "/" and body["display"] == "standalone"
    sizes = {i["sizes"] for i in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        assert page.request.get(vigia.base + icon["src"]).headers["content-type"] == "image/png"
    sw = page.request.get(vigia.base + "/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript")
    assert sw.headers["cache-control"] == "no-cache"


def test_saved_offline_waits_and_is_sent_once(vigia, admin, new_context):
    allow_console_error(OFFLINE_ERRORS)
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    title = f"Bloqueo de la vía a Los Chancas {uuid.uuid4().hex[:10]}"
    before = count_incidents(vigia)

    context.set_offline(True)
    goto(page, vigia.base + "/incidents/new")  # from the service worker
    expect(page.locator("h1")).to_have_text("Nuevo incidente")
    fill(page, title)
    # SPCC, found in the kept copy of the actors.
    page.locator("#actor-search").press_sequentially("SPCC", delay=40)
    suggestion = page.locator("#actor-search-listbox [role=option]", has_text="Southern")
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(page.locator("#actor-rows tbody tr")).to_have_count(1)
    attach_photo(page)
    save(page)
    expect(page.locator(".outbox-message")).to_contain_text("quedó guardado en este dispositivo")
    expect(page.locator("#outbox-badge")).to_have_text("1 por enviar")
    expect(page.locator("#outbox-badge")).to_be_visible()
    shot(vigia, page, "offline-saved")
    check_axe(vigia, page, "incident form, saved offline (the badge shown)")
    page.close()

    # A new page, still offline: the list shows it waiting.
    page = context.new_page()
    goto(page, vigia.base + "/envios")
    expect(page.locator("#outbox-waiting")).to_contain_text(title)
    expect(page.locator("#outbox-waiting")).to_contain_text("Con 1 archivo(s) adjunto(s)")
    expect(page.locator("#outbox-status")).to_contain_text("no hay conexión")
    assert count_incidents(vigia) == before
    shot(vigia, page, "offline-envios-waiting")
    check_axe(vigia, page, "mis envíos, waiting")

    # A second tab: both hear `online` and both try; the lock lets one
    # send and the other finds the item sent.
    other = context.new_page()
    goto(other, vigia.base + "/envios")
    expect(other.locator("#outbox-waiting")).to_contain_text(title)

    # Back online: sent by itself, once.
    context.set_offline(False)
    expect(page.locator("#outbox-sent")).to_contain_text(title, timeout=20_000)
    expect(page.locator("#outbox-sent a.outbox-open")).to_have_count(1)
    expect(page.locator("#outbox-badge")).to_be_hidden()
    item = [i for i in outbox_items(page) if i["title"] == title][0]
    assert item["done"], item
    expect(other.locator("#outbox-sent")).to_contain_text(title)
    other.close()
    assert count_incidents(vigia) == before + 1
    [event] = titled(vigia, title)
    assert event["id"] == item["incident_id"]
    # The actor link came after the incident.
    status, full = api(vigia, "GET", f"/api/v1/events/{event['id']}")
    assert [a["actor_id"] for a in full["actors"]] == [vigia.actor_id]
    check_stored_photo(vigia, full)
    shot(vigia, page, "offline-envios-sent")
    check_axe(vigia, page, "mis envíos")

    page.locator("#outbox-sent a.outbox-open").first.click()
    page.wait_for_url(INCIDENT_URL)
    expect(page.locator("h1")).to_have_text(title)
    # The photo shows as its thumbnail, upright (taller than wide).
    thumb = page.locator("#attachments + .attachments img")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_attribute("alt", "Foto adjunta: IMG_2041.jpg")
    thumb.scroll_into_view_if_needed()
    size = page.evaluate(
        "() => { const i = document.querySelector('.attachments img');"
        " return i.complete ? [i.naturalWidth, i.naturalHeight] : null; }"
    )
    assert size and size[1] > size[0], size
    shot(vigia, page, "incident-with-photo")
    check_axe(vigia, page, "incident with a photo")


def test_an_answer_lost_after_the_commit_is_not_sent_twice(vigia, admin, new_context):
    allow_console_error(r"net::ERR_(CONNECTION_RESET|FAILED)")
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    title = f"Marcha de comuneros de Tambobamba {uuid.uuid4().hex[:10]}"
    before = count_incidents(vigia)
    lost = []

    def lose_the_answer(route):
        if route.request.method == "POST" and not lost:
            answer = route.fetch()  # the server commits and answers…
            lost.append(answer.status)
            route.abort("connectionreset")  # …and the phone never hears it
        else:
            route.fallback()

    photo_lost = []

    def lose_the_photos_answer(route):
        if route.request.method == "POST" and not photo_lost:
            answer = route.fetch()
            photo_lost.append(answer.status)
            route.abort("connectionreset")
        else:
            route.fallback()

    context.route("**/api/v1/events", lose_the_answer)
    context.route("**/api/v1/events/*/attachments", lose_the_photos_answer)
    fill(page, title)
    attach_photo(page)
    save(page)
    expect(page.locator(".outbox-message")).to_contain_text("se volverá a intentar")
    assert lost == [201]
    assert count_incidents(vigia) == before + 1
    context.unroute("**/api/v1/events", lose_the_answer)

    goto(page, vigia.base + "/envios")
    expect(page.locator("#outbox-waiting")).to_contain_text(title)
    page.get_by_role("button", name="Enviar ahora").click()
    # The incident is replayed; the photo's first answer is lost in turn, so
    # the item is sent but not done.
    expect(page.locator("#outbox-sent")).to_contain_text(title)
    for _ in range(100):
        if photo_lost:
            break
        page.wait_for_timeout(100)
    assert photo_lost == [201]
    [item] = [i for i in outbox_items(page) if i["title"] == title]
    assert item["incident_id"] and not item["done"], item
    context.unroute("**/api/v1/events/*/attachments", lose_the_photos_answer)
    page.get_by_role("button", name="Enviar ahora").click()
    for _ in range(100):
        [item] = [i for i in outbox_items(page) if i["title"] == title]
        if item["done"]:
            break
        page.wait_for_timeout(100)
    assert item["done"], item
    assert count_incidents(vigia) == before + 1
    [event] = titled(vigia, title)
    status, full = api(vigia, "GET", f"/api/v1/events/{event['id']}")
    check_stored_photo(vigia, full)


def test_a_double_click_makes_one_incident(vigia, admin, new_context):
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    title = f"Paro en Progreso {uuid.uuid4().hex[:10]}"
    before = count_incidents(vigia)
    fill(page, title)
    page.locator("#incident-form button[type=submit].primary").dblclick()
    page.wait_for_url(INCIDENT_URL)
    expect(page.locator("h1")).to_have_text(title)
    assert count_incidents(vigia) == before + 1
    assert len(outbox_items(page)) == 1


def test_refused_at_once_online_shows_the_fields_errors(vigia, admin, new_context):
    allow_console_error(r"status of 422")
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    before = count_incidents(vigia)
    fill(page, "")
    save(page)
    expect(page.locator("#title-error")).to_be_visible()
    expect(page.locator("#title")).to_have_attribute("aria-invalid", "true")
    # Posted as without JavaScript: the outbox keeps nothing.
    assert outbox_items(page) == []
    assert count_incidents(vigia) == before


def test_refused_later_is_fixed_and_sent(vigia, admin, new_context):
    allow_console_error(OFFLINE_ERRORS)
    allow_console_error(r"status of 422")
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    title = f"Incidente con fecha futura {uuid.uuid4().hex[:10]}"
    before = count_incidents(vigia)
    context.set_offline(True)
    goto(page, vigia.base + "/incidents/new")
    fill(page, title, occurred_on="2099-01-01")  # the server refuses a future date
    save(page)
    expect(page.locator("#outbox-badge")).to_have_text("1 por enviar")
    goto(page, vigia.base + "/envios")
    context.set_offline(False)
    refused = page.locator("#outbox-refused")
    expect(refused).to_contain_text(title, timeout=20_000)
    # In the page's language: the field by its name in the form, the rule by its code.
    expect(refused.locator(".outbox-errors")).to_contain_text("Fecha: No puede estar en el futuro.")
    check_axe(vigia, page, "mis envíos, refused")
    refused.get_by_role("link", name="Corregir y reenviar").click()
    expect(page.locator("#title")).to_have_value(title)
    expect(page.locator("#occurred_on")).to_have_attribute("aria-invalid", "true")
    page.fill("#occurred_on", "2023-01-01")
    save(page)
    page.wait_for_url(INCIDENT_URL)
    assert count_incidents(vigia) == before + 1
    # The refused item was replaced by the one sent.
    items = outbox_items(page)
    assert [i["status"] for i in items] == ["sent"], items


def test_a_district_is_found_by_name_offline(vigia, admin, new_context):
    """No GPS and no network: the monitor types the district's name, the point
    goes inside it and the precision becomes approximate; the server puts
    the incident in that district."""
    allow_console_error(OFFLINE_ERRORS)
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    title = f"Asamblea comunal en Pocohuanca {uuid.uuid4().hex[:10]}"
    context.set_offline(True)
    goto(page, vigia.base + "/incidents/new")
    page.fill("#title", title)
    page.select_option("#event_type", "protest")
    page.fill("#occurred_on", "2023-05-02")
    page.locator("#district-search").press_sequentially("pocohu", delay=40)
    option = page.locator("#district-search-listbox [role=option]", has_text="POCOHUANCA")
    expect(option).to_be_visible()
    shot(vigia, page, "offline-district-search")
    check_axe(vigia, page, "incident form, district search offline")
    option.click()
    expect(page.locator("#location_precision")).to_have_value("approximate")
    expect(page.locator("#place")).to_have_value("POCOHUANCA, AYMARAES, APURIMAC")
    assert page.input_value("#lat") != "" and page.input_value("#lon") != ""
    save(page)
    expect(page.locator(".outbox-message")).to_contain_text("quedó guardado en este dispositivo")
    context.set_offline(False)
    for _ in range(200):
        found = titled(vigia, title)
        if found:
            break
        page.wait_for_timeout(100)
    [event] = found
    assert event["admin"]["ubigeo"] == "030410", event["admin"]
    assert event["location"]["precision"] == "approximate"


def test_a_photo_too_large_is_said_at_once_offline(vigia, admin, new_context):
    """Offline, a photo the server would refuse for its size is refused by
    the form at once, beside the field, instead of waiting on the phone."""
    allow_console_error(OFFLINE_ERRORS)
    context = signed_in_context(admin, new_context)
    page = open_form_once(vigia, context)
    context.set_offline(True)
    goto(page, vigia.base + "/incidents/new")
    before = len(outbox_items(page))
    fill(page, f"Desalojo en Chalhuahuacho {uuid.uuid4().hex[:10]}")
    big = b"\xff\xd8\xff\xe0" + b"\0" * (26 * 1024 * 1024)
    page.set_input_files("#photos", files=[{"name": "enorme.jpg", "mimeType": "image/jpeg", "buffer": big}])
    save(page)
    error = page.locator("#photos-outbox-error")
    expect(error).to_contain_text("«enorme.jpg» pesa más de 25 MB")
    expect(page.locator("#photos")).to_have_attribute("aria-invalid", "true")
    assert len(outbox_items(page)) == before
    shot(vigia, page, "offline-photo-too-large")
    check_axe(vigia, page, "incident form, a photo too large")
    # Closed while its offline errors are allowed: a request the page still
    # makes must not be counted against the next test.
    context.close()
