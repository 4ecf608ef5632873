""""Mis alertas" in a real Chromium: a researcher draws an area on the map
with Geoman, saves the watch and confirms it from the mail a real SMTP
server (aiosmtpd, in this process) received; a concession watch found by
typing its code; the pages at laptop and phone widths, in Spanish and
English, held to axe.

The server under test does not deliver by itself (run.sh sets
alerts.deliver = false): `vigia deliver --once` sends what is due to this
module's SMTP server, so the test knows when the mail has gone."""

import email
import email.policy
import os
import re
import socket
import subprocess
import threading
import time
import uuid

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from conftest import check_axe, goto, shot, sign_in_through_link

SIZES = [(1280, 900), (390, 844)]


class Inbox:
    """Every mail the SMTP server accepted, parsed."""

    def __init__(self):
        self.mails = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.mails.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address):
        with self.lock:
            return [m for rcpt, m in self.mails if address in rcpt]


@pytest.fixture(scope="module")
def inbox():
    handler = Inbox()
    # aiosmtpd connects to its own port to see it is up: it needs one
    # chosen beforehand.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        handler.port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def binary() -> str:
    path = os.environ.get("VIGIA_BIN", "")
    if not path:
        raise pytest.UsageError("VIGIA_BIN is not set: run the suite through tests/browser/run.sh")
    return path


def deliver(inbox) -> None:
    """Sends every mail due now through the test's SMTP server."""
    env = dict(os.environ, VIGIA__SMTP__PORT=str(inbox.port), VIGIA__SMTP__HOST="127.0.0.1")
    done = subprocess.run([binary(), "deliver", "--once"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def mail_to(inbox, address: str, count: int = 1):
    """The mails to `address` once `count` have arrived (delivery is done
    when `deliver` returns; the server may still be handing them over)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        got = inbox.to(address)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{count} mail(s) to {address} never arrived; got {len(inbox.to(address))}")


def text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


@pytest.fixture(scope="module")
def researcher(vigia, new_context):
    """Rosa Huamán, researcher, signed in through her invitation link."""
    env = dict(os.environ)
    made = subprocess.run(
        [binary(), "users", "create", "--email", "rosa.huaman@example.org", "--role", "researcher",
         "--name", "Rosa Huamán"],
        env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return sign_in_through_link(vigia, new_context, made.stdout.strip(), "researcher")


def no_sideways_scroll(page):
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} scrolls sideways: {scroll} > {inner}"


def test_a_researcher_draws_an_area_saves_it_and_confirms_it_by_mail(vigia, researcher, inbox):
    page = researcher.page
    goto(page, vigia.base + "/watches")
    expect(page).to_have_title("Mis alertas · Vigía")
    expect(page.locator("header nav")).to_contain_text("Mis alertas")
    page.get_by_role("link", name="Nueva alerta").click()
    expect(page).to_have_title("Nueva alerta · Vigía")

    # Only the chosen target's fields show.
    expect(page.locator("#concession_code")).to_be_visible()
    expect(page.locator("#area-map")).to_be_hidden()
    page.get_by_label("Un área dibujada en el mapa").check()
    expect(page.locator("#concession_code")).to_be_hidden()
    area_map = page.locator("#area-map")
    expect(area_map).to_be_visible()
    check_axe(vigia, page, "new watch, area")

    # A rectangle: Geoman's button, then two corners on the map.
    page.locator("#area-map .leaflet-pm-icon-rectangle").click()
    box = area_map.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.40, box["y"] + box["height"] * 0.40)
    page.mouse.click(box["x"] + box["width"] * 0.60, box["y"] + box["height"] * 0.60)
    expect(page.locator("#area")).to_have_value(re.compile(r'"type":"Polygon"'))
    drawn = page.input_value("#area")

    # Its corners move in edit mode, and the field follows.
    page.locator("#area-map .leaflet-pm-icon-edit").click()
    corner = page.locator("#area-map .marker-icon:not(.marker-icon-middle)").first
    expect(corner).to_be_visible()
    c = corner.bounding_box()
    page.mouse.move(c["x"] + c["width"] / 2, c["y"] + c["height"] / 2)
    page.mouse.down()
    page.mouse.move(c["x"] - 30, c["y"] - 20, steps=5)
    page.mouse.up()
    expect(page.locator("#area")).not_to_have_value(drawn)
    page.locator("#area-map .leaflet-pm-icon-edit").click()
    shot(vigia, page, "watch-area-drawn")

    address = f"rosa.{uuid.uuid4().hex[:8]}@example.org"
    page.fill("#email", address)
    page.get_by_role("button", name="Vista previa").click()
    expect(page.locator(".preview-summary")).to_contain_text("En los últimos 12 meses esta alerta habría captado")
    # The preview shows the form again with the area still drawn.
    expect(page.locator("#area-map path.leaflet-interactive")).to_have_count(1)
    shot(vigia, page, "watch-area-preview")
    check_axe(vigia, page, "new watch, preview")
    page.get_by_role("button", name="Guardar alerta").click()
    page.wait_for_url(vigia.base + "/watches?done=created")
    expect(page.locator(".notice")).to_contain_text("Le enviamos un correo para confirmarla")
    row = page.locator("table.watches tbody tr").filter(has_text=address)
    expect(row).to_contain_text("Área dibujada de")
    expect(row).to_contain_text("pendiente")
    check_axe(vigia, page, "my alerts")

    deliver(inbox)
    (message,) = mail_to(inbox, address)
    assert message["Subject"] == "[Vigía] Confirme su alerta"
    link = re.search(r"https?://\S+/api/v1/watches/confirm\?token=\S+", text_of(message)).group(0)
    goto(page, link)
    expect(page).to_have_title("Confirmar alerta · Vigía")
    check_axe(vigia, page, "confirm page")
    page.get_by_role("button", name="Confirmar").click()
    expect(page.locator("main")).to_contain_text("Su alerta está activa")

    goto(page, vigia.base + "/watches")
    row = page.locator("table.watches tbody tr").filter(has_text=address)
    expect(row.locator(".watch-status")).to_have_text("activa")

    # Deleting asks first, on a page of its own.
    row.get_by_role("link", name=re.compile("^Eliminar")).click()
    expect(page).to_have_title("Eliminar alerta · Vigía")
    check_axe(vigia, page, "delete watch")
    page.get_by_role("button", name="Sí, eliminar").click()
    page.wait_for_url(vigia.base + "/watches?done=deleted")
    expect(page.locator("table.watches tbody tr").filter(has_text=address)).to_have_count(0)


def test_a_concession_watch_by_typing_its_code(vigia, monitor):
    page = monitor.page
    goto(page, vigia.base + "/watches/new")
    code = page.locator("#concession_code")
    code.press_sequentially("LC-0001", delay=40)
    option = page.get_by_role("option", name=re.compile("LC-0001"))
    expect(option).to_contain_text("LOS CHANCAS 1")
    # Its holder, as the cadastre names it.
    expect(option).to_contain_text(re.compile("southern peru? copper", re.I))
    option.click()
    expect(code).to_have_value("LC-0001")
    expect(page.locator("#concession-chosen")).to_contain_text(re.compile(r"^LC-0001 — LOS CHANCAS 1 \(SOUTHERN", re.I))
    expect(page.locator("#concession-map path.map-concession")).to_have_count(1)
    page.get_by_label("protesta").check()
    shot(vigia, page, "watch-concession-chosen")
    check_axe(vigia, page, "new watch, concession")
    page.get_by_role("button", name="Vista previa").click()
    expect(page.locator(".preview-summary")).to_contain_text("habría captado")
    # Shown again, the form still names and draws its concession.
    expect(page.locator("#concession-chosen")).to_contain_text("LOS CHANCAS 1")
    page.get_by_role("button", name="Guardar alerta").click()
    page.wait_for_url(vigia.base + "/watches?done=created")
    row = page.locator("table.watches tbody tr").filter(has_text="LC-0001")
    expect(row).to_contain_text("Concesión LC-0001 «LOS CHANCAS 1»")
    expect(row).to_contain_text(re.compile("titular: southern", re.I))
    expect(row).to_contain_text("protesta")


@pytest.mark.parametrize("width,height", SIZES)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_watch_pages_fit_a_phone_and_a_laptop_in_both_languages(vigia, monitor, new_context, width, height, lang):
    context = new_context(
        viewport={"width": width, "height": height},
        storage_state=monitor.storage,
        locale="es-PE" if lang == "es" else "en-GB",
    )
    page = context.new_page()
    for path, name in [("/watches", "list"), ("/watches/new", "form")]:
        goto(page, vigia.base + path)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        no_sideways_scroll(page)
        shot(vigia, page, f"watches-{name}-{lang}-{width}")
        check_axe(vigia, page, f"watches {name} {lang} {width}")
    page.get_by_role("radio").nth(3).check()
    expect(page.locator("#area-map")).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_role("radio").nth(2).check()
    expect(page.locator("#pick-region")).to_be_visible()
    page.select_option("#pick-region", label="APURIMAC")
    expect(page.locator("#ubigeo")).to_have_value("03")
    page.select_option("#pick-province", label="AYMARAES")
    expect(page.locator("#ubigeo")).to_have_value("0304")
    shot(vigia, page, f"watches-form-admin-{lang}-{width}")
