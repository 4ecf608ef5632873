"""Fixtures of the browser tests: the running Vigía (started by run.sh), a
real Chromium, people signed in through their invitation links, and the
checks every test gets: no console error, no uncaught page error, no
dialog, and axe-core on the pages it visits."""

import dataclasses
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

# A password the server accepts (long, not guessable).
PASSWORD = "cobre en los andes 2022"
# The pages are Spanish by default; the browsers say so.
LOCALE = "es-PE"


@dataclass(frozen=True)
class Vigia:
    base: str
    api_key: str
    admin_link: str
    monitor_link: str
    actor_id: str
    concession_id: str
    chromium: str
    axe_source: str
    shots: Path

    def with_key(self, key: str) -> "Vigia":
        """The same server, called with another API key."""
        return dataclasses.replace(self, api_key=key)


def _need(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise pytest.UsageError(f"{name} is not set: run the suite through tests/browser/run.sh")
    return value


@pytest.fixture(scope="session")
def vigia() -> Vigia:
    shots = Path(os.environ.get("VIGIA_SHOTS") or "/tmp/vigia-browser-shots/adhoc")
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    return Vigia(
        base=_need("VIGIA_BASE_URL").rstrip("/"),
        api_key=_need("VIGIA_API_KEY"),
        admin_link=_need("VIGIA_ADMIN_LINK"),
        monitor_link=_need("VIGIA_MONITOR_LINK"),
        actor_id=_need("VIGIA_ACTOR_ID"),
        concession_id=_need("VIGIA_CONCESSION_ID"),
        chromium=_need("VIGIA_CHROMIUM"),
        axe_source=Path(_need("VIGIA_AXE_JS")).read_text(encoding="utf-8"),
        shots=shots,
    )


# ---------------------------------------------------------------- the API


def api(vigia: Vigia, method: str, path: str, body=None):
    """Calls the JSON API with the seed admin key; returns (status, JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(vigia.base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {vigia.api_key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def download(vigia: Vigia, path: str) -> bytes:
    """The bytes of a file the API serves (an attachment), with the admin key."""
    request = urllib.request.Request(vigia.base + path)
    request.add_header("Authorization", f"Bearer {vigia.api_key}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def count_incidents(vigia: Vigia) -> int:
    """Every incident the API lists, page after page."""
    total, cursor = 0, None
    while True:
        path = "/api/v1/events?limit=200" + (f"&cursor={cursor}" if cursor else "")
        status, page = api(vigia, "GET", path)
        assert status == 200, page
        total += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return total


# ------------------------------------------- what every page is held to

# Console errors and uncaught errors of any page of any context, and
# dialogs nobody expected, since the last check.
_problems: list[str] = []
# Console errors a test expects (a page answered 403 or 409 on purpose).
_allowed: list[re.Pattern] = []
# Confirmations a test expects (revoking a key asks first): accepted once.
_confirms: list[re.Pattern] = []


def _watch(page) -> None:
    def on_console(message):
        if message.type == "error":
            _problems.append(f"console error on {page.url}: {message.text}")

    def on_dialog(dialog):
        expected = next((c for c in _confirms if dialog.type == "confirm" and c.search(dialog.message)), None)
        if expected:
            _confirms.remove(expected)
            dialog.accept()
            return
        _problems.append(f"a {dialog.type} dialog opened on {page.url}: {dialog.message!r}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: _problems.append(f"uncaught error on {page.url}: {error}"))
    page.on("dialog", on_dialog)


def expect_confirm(pattern: str) -> None:
    """The next confirmation whose question matches `pattern` is answered yes."""
    _confirms.append(re.compile(pattern))


def allow_console_error(pattern: str) -> None:
    """Lets this test's pages log an error matching `pattern`."""
    _allowed.append(re.compile(pattern))


@pytest.fixture(autouse=True)
def no_console_errors():
    yield
    found = [p for p in _problems if not any(a.search(p) for a in _allowed)]
    _problems.clear()
    _allowed.clear()
    unanswered = [c.pattern for c in _confirms]
    _confirms.clear()
    assert not unanswered, f"expected confirmations never asked: {unanswered}"
    assert not found, "the pages reported problems:\n" + "\n".join(found)


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.html.slice(0, 160)),
  }));
}"""


def check_axe(vigia: Vigia, page, name: str) -> list:
    """axe-core on the page as it is now: no serious or critical violation.
    The source is evaluated rather than added as a script tag, which the
    pages' Content-Security-Policy (scripts from 'self' only) refuses."""
    page.evaluate(vigia.axe_source)
    violations = page.evaluate(AXE_RUN)
    for v in violations:
        print(f"axe {name}: {v['impact']} {v['id']}: {v['help']} {v['nodes']}")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe on {name} ({page.url}):\n" + json.dumps(bad, indent=2, ensure_ascii=False)
    return violations


_shot_number = [0]


def shot(vigia: Vigia, page, name: str) -> Path:
    """A full-page screenshot, numbered in the order taken."""
    _shot_number[0] += 1
    path = vigia.shots / f"{_shot_number[0]:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def goto(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, (
        f"{url}: {response.status if response else 'no answer'}"
    )
    return response


# ------------------------------------------------- browser and people


@pytest.fixture(scope="session")
def browser(vigia):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=vigia.chromium)
        yield b
        b.close()


@pytest.fixture(scope="session")
def new_context(browser):
    """Opens a browser context (cookies of its own) whose pages are watched."""
    opened = []

    def make(**options):
        options.setdefault("locale", LOCALE)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        context.on("page", _watch)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@dataclass
class Person:
    context: object
    page: object
    # What the invitation flow saw, for the test that checks it.
    set_password_title: str
    greeting: str
    landed_on: str
    storage: dict


def sign_in_through_link(vigia: Vigia, new_context, link: str, who: str) -> Person:
    """Opens a one-time link, chooses a password, and is signed in."""
    context = new_context()
    page = context.new_page()
    goto(page, link)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    title = page.title()
    greeting = page.locator("main p").first.inner_text()
    shot(vigia, page, f"set-password-{who}")
    check_axe(vigia, page, f"set password ({who})")
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(vigia.base + "/")
    return Person(context, page, title, greeting, page.url, context.storage_state())


@pytest.fixture(scope="session")
def admin(vigia, new_context) -> Person:
    """Ana Quispe, admin, signed in through `vigia users create`'s link."""
    return sign_in_through_link(vigia, new_context, vigia.admin_link, "admin")


@pytest.fixture(scope="session")
def monitor(vigia, new_context) -> Person:
    """Ben Mamani, monitor, signed in through his link."""
    return sign_in_through_link(vigia, new_context, vigia.monitor_link, "monitor")


def pytest_collection_modifyitems(config, items):
    """The tests, or with VIGIA_BENCH=1 the benchmarks (bench_*.py) alone."""
    bench = os.environ.get("VIGIA_BENCH") == "1"
    keep = [i for i in items if i.path.name.startswith("bench_") == bench]
    dropped = [i for i in items if i.path.name.startswith("bench_") != bench]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
