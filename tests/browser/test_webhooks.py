"""A watch's webhook in a real Chromium (issue 15): a researcher sets the
receiver's URL on "Mis alertas", reads the secret shown once, presses
"Enviar una prueba", and an incident in the watched area is POSTed to the
receiver. Every request the receiver gets is verified with the Standard
Webhooks reference library (PyPI `standardwebhooks`), independently of
Vigía. run.sh starts the server with alerts.webhook_allow_private, since
the receiver listens on 127.0.0.1."""

import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import os
import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import allow_console_error, api, check_axe, goto, shot, sign_in_through_link
# The SMTP server of this process and the delivery run, as test_watches uses them.
from test_watches import binary, deliver, inbox, mail_to, text_of  # noqa: F401 (inbox is a fixture)

# Somewhere no other test logs incidents: Lampa, Puno.
LON, LAT = -70.37, -15.36


class Receiver:
    """An HTTP receiver on 127.0.0.1 that keeps every request it gets."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.got.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/vigia"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests(self):
        with self.lock:
            return list(self.got)


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def researcher(vigia, new_context):
    """Elena Mamani, researcher, signed in through her invitation link."""
    made = subprocess.run(
        [binary(), "users", "create", "--email", "elena.mamani@example.org", "--role", "researcher",
         "--name", "Elena Mamani"],
        env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return sign_in_through_link(vigia, new_context, made.stdout.strip(), "researcher-webhooks")


def verified(secret: str, request) -> dict:
    """The payload, once the reference library has verified the request."""
    headers, body = request
    return Webhook(secret).verify(body, headers)


def test_a_webhook_set_on_the_page_receives_signed_test_and_alert(vigia, researcher, inbox, receiver):
    page = researcher.page
    page.set_viewport_size({"width": 1280, "height": 900})
    goto(page, vigia.base + "/watches")
    address = "webhook.receptor@example.org"
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
    watch_id = created[1]["id"]
    deliver(inbox)
    (message,) = mail_to(inbox, address)
    link = re.search(r"https?://\S+/api/v1/watches/confirm\?token=\S+", text_of(message)).group(0)
    goto(page, link)
    page.get_by_role("button", name="Confirmar").click()
    expect(page.locator("main")).to_contain_text("Su alerta está activa")

    goto(page, vigia.base + "/watches")
    row = page.locator(f"#watch-{watch_id}")
    row.locator("summary", has_text="Webhook").click()
    expect(row.locator(".watch-webhook")).to_contain_text("no tiene webhook")
    check_axe(vigia, page, "my alerts, webhook open, none set")

    # A refused URL: the reason next to the field, in Spanish, what was typed kept.
    allow_console_error(r"status of 422")
    field = row.get_by_label("Dirección del receptor (https://)")
    field.fill("ftp://127.0.0.1/vigia")
    row.get_by_role("button", name=re.compile("^Guardar webhook")).click()
    row = page.locator(f"#watch-{watch_id}")
    expect(row.locator(".field-error")).to_have_text("Debe ser una dirección https://.")
    expect(row.get_by_label("Dirección del receptor (https://)")).to_have_value("ftp://127.0.0.1/vigia")
    expect(row.get_by_label("Dirección del receptor (https://)")).to_have_attribute("aria-invalid", "true")
    shot(vigia, page, "webhook-refused")

    # The receiver's URL: the secret is shown once.
    row.get_by_label("Dirección del receptor (https://)").fill(receiver.url)
    row.get_by_role("button", name=re.compile("^Guardar webhook")).click()
    row = page.locator(f"#watch-{watch_id}")
    secret_box = row.locator("code.webhook-secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.inner_text().strip()
    assert secret.startswith("whsec_"), secret
    expect(row).to_contain_text("se muestra solo esta vez")
    shot(vigia, page, "webhook-secret-1280")
    check_axe(vigia, page, "my alerts, webhook secret shown")

    # The test event, verified by the reference library.
    row.get_by_role("button", name=re.compile("^Enviar una prueba")).click()
    row = page.locator(f"#watch-{watch_id}")
    expect(row.locator(".webhook-test")).to_have_text("El receptor respondió HTTP 200: la prueba llegó.")
    # The secret is not shown again.
    expect(row.locator("code.webhook-secret")).to_have_count(0)
    assert secret not in page.content()
    (test,) = receiver.requests()
    payload = verified(secret, test)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["watch"]["id"] == watch_id
    with pytest.raises(WebhookVerificationError):
        verified("whsec_" + "QUJD" * 8, test)

    # An incident in the area: its alert is POSTed when the worker runs.
    title = "Paro de comuneros en Lampa"
    status, event = api(vigia, "POST", "/api/v1/events", {
        "title": title, "event_type": "protest", "occurred_on": "2025-09-02",
        "location": {"lat": LAT, "lon": LON, "precision": "near"}})
    assert status == 201, event
    deliver(inbox)
    mail_to(inbox, address, 2)
    requests = receiver.requests()
    assert len(requests) == 2, requests
    alert = verified(secret, requests[1])
    assert alert["type"] == "alert.created"
    assert alert["data"]["incident"]["id"] == event["id"]
    assert alert["data"]["incident"]["title"] == title
    assert alert["data"]["incident"]["url"] == vigia.base + "/incidents/" + event["id"]
    assert requests[1][0]["webhook-id"] == alert["data"]["alert_id"]
    # Delivering again posts nothing more.
    deliver(inbox)
    assert len(receiver.requests()) == 2

    # The page says how the last delivery went.
    goto(page, vigia.base + "/watches")
    row = page.locator(f"#watch-{watch_id}")
    row.locator("summary", has_text="Webhook").click()
    expect(row.locator(".webhook-last")).to_contain_text("respuesta HTTP 200")
    expect(row.get_by_label("Dirección del receptor (https://)")).to_have_value(receiver.url)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(vigia, page, f"webhook-es-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})

    # In English.
    goto(page, vigia.base + f"/language?to=en&back=/watches")
    row = page.locator(f"#watch-{watch_id}")
    row.locator("summary", has_text="Webhook").click()
    expect(row.locator(".webhook-last")).to_contain_text("HTTP answer 200")
    row.get_by_role("button", name=re.compile("^Send a test")).click()
    row = page.locator(f"#watch-{watch_id}")
    expect(row.locator(".webhook-test")).to_have_text("The receiver answered HTTP 200: the test arrived.")
    verified(secret, receiver.requests()[2])
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(vigia, page, f"webhook-en-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
    check_axe(vigia, page, "my alerts, webhook test answered (en)")

    # A new secret; then removing the webhook.
    row.get_by_role("button", name=re.compile("^New secret")).click()
    row = page.locator(f"#watch-{watch_id}")
    rotated = row.locator("code.webhook-secret").inner_text().strip()
    assert rotated.startswith("whsec_") and rotated != secret
    row.get_by_role("button", name=re.compile("^Remove")).click()
    page.wait_for_url(re.compile(r"/watches\?done=webhook_removed"))
    expect(page.locator(".notice")).to_contain_text("Webhook removed")
    status, body = api(vigia, "GET", f"/api/v1/watches/{watch_id}/webhook")
    assert status == 404, body
    goto(page, vigia.base + "/language?to=es&back=/watches")
