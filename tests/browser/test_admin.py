"""The administration pages in a real Chromium: the hub reached from the
nav, an admin inviting a monitor from there (the key revocation is in
test_pages.py, which now also reaches the keys through the hub), each admin
page in Spanish and English at a laptop's and a phone's width, axe-clean,
and not scrolling sideways; a monitor gets the 403 page."""

import pytest
from playwright.sync_api import expect

from conftest import allow_console_error, check_axe, goto, shot

ADMIN_PAGES = [
    ("hub", "/admin", "Administración", "Administration"),
    ("audit", "/admin/audit", "Registro de auditoría", "Audit log"),
    ("deliveries", "/admin/deliveries", "Correos enviados", "Delivery log"),
    ("registry", "/admin/registry", "Cambios del catastro", "Registry changes"),
    ("imports", "/admin/imports", "Importar concesiones y distritos", "Import concessions and districts"),
    ("settings", "/admin/settings", "Ajustes", "Settings"),
]


def test_an_admin_invites_a_monitor_from_the_hub(vigia, admin, new_context):
    context = new_context(storage_state=admin.storage)
    page = context.new_page()
    goto(page, vigia.base + "/")
    page.locator("header nav").get_by_role("link", name="Administración").click()
    expect(page.locator("h1")).to_have_text("Administración")
    page.locator(".admin-hub").get_by_role("link", name="Personas").click()
    expect(page.locator("h1")).to_have_text("Personas")
    page.fill("#invite-email", "rosa.ccori@example.org")
    page.fill("#invite-name", "Rosa Ccori")
    page.select_option("#invite-role", "monitor")
    page.get_by_role("button", name="Enviar la invitación").click()
    expect(page.locator(".notice")).to_contain_text("rosa.ccori@example.org")
    row = page.locator("table.list tr", has_text="Rosa Ccori")
    expect(row.locator("select")).to_have_value("monitor")
    # Not signed in yet; the admin herself has.
    expect(row).to_contain_text("nunca")
    expect(page.locator("table.list tr", has_text="Ana Quispe")).not_to_contain_text("nunca")
    shot(vigia, page, "admin-users-invited")
    check_axe(vigia, page, "users, a monitor invited")
    context.close()


@pytest.mark.parametrize("lang,width", [("es", 1280), ("es", 390), ("en", 1280), ("en", 390)])
def test_every_admin_page_reads_well_and_passes_axe(vigia, admin, new_context, lang, width):
    context = new_context(
        locale="en-US" if lang == "en" else "es-PE",
        viewport={"width": width, "height": 900},
        storage_state=admin.storage,
    )
    page = context.new_page()
    # The language follows the session's choice once made: set it.
    goto(page, vigia.base + f"/language?to={lang}&back=/admin")
    for name, path, es, en in ADMIN_PAGES:
        goto(page, vigia.base + path)
        expect(page.locator("h1")).to_have_text(es if lang == "es" else en)
        size = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert size[0] <= size[1], f"{path} scrolls sideways at {width}px: {size}"
        shot(vigia, page, f"admin-{name}-{lang}-{width}")
        check_axe(vigia, page, f"{path} ({lang}, {width}px)")
    # The audit log filtered, and a filter refused beside its field.
    goto(page, vigia.base + "/admin/audit")
    page.select_option("#f-entity", "user")
    page.get_by_role("button", name="Aplicar" if lang == "es" else "Apply", exact=True).click()
    expect(page.locator(".log-entry").first).to_be_visible()
    shot(vigia, page, f"admin-audit-users-{lang}-{width}")
    check_axe(vigia, page, f"audit log of people ({lang}, {width}px)")
    allow_console_error(r"status of 400")
    goto(page, vigia.base + "/admin/registry?from=ayer", status=400)
    expect(page.locator("#f-from-error")).to_be_visible()
    check_axe(vigia, page, f"registry with a bad date ({lang}, {width}px)")
    context.close()


def test_a_monitor_gets_the_forbidden_page(vigia, monitor, new_context):
    context = new_context(storage_state=monitor.storage)
    page = context.new_page()
    allow_console_error(r"status of 403")
    goto(page, vigia.base + "/admin", status=403)
    expect(page.locator("body")).to_contain_text("Su rol no permite hacer esto.")
    expect(page.locator("header nav")).not_to_contain_text("Administración")
    context.close()
