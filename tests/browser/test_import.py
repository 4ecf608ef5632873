"""The admins' incidents import (issue 15): an ACLED file with one bad row
uploaded, the reason shown next to its line, the valid rows imported
without sending the file again, and the new incidents in the list."""

import uuid

import pytest
from playwright.sync_api import expect

from conftest import allow_console_error, api, check_axe, goto, shot

HEADER = ("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,"
          "actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,"
          "iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,"
          "source_scale,notes,fatalities,tags,timestamp\n")


def acled_rows(tag: str) -> str:
    return (
        f"PER{tag}1,12 May 2022,2022,1,Political violence,Strategic developments,Looting/property destruction,"
        "Rioters (Peru),,Rioters,,,,,,604,South America,Peru,Apurímac,Aymaraes,Pocohuanca,"
        f"Tapairihua {tag},-14.2190728,-73.0884214,2,La República,National,"
        "\"Queman el campamento del proyecto Los Chancas, en Tapairihua.\",0,,1654041600\n"
        f"PER{tag}2,31 June 2022,2022,1,Demonstrations,Protests,Peaceful protest,"
        "Protesters (Peru),,Protesters,,,,,,604,South America,Peru,Apurímac,Cotabambas,Challhuahuacho,"
        f"Fuerabamba {tag},-14.0921,-72.2431,1,Correo,Subnational,Marcha de comuneros.,0,,1654041600\n"
        f"PER{tag}3,2022-04-14,2022,2,Demonstrations,Protests,Peaceful protest,"
        "Protesters (Peru),Comunidad Campesina de Fuerabamba,Protesters,,,,,,604,South America,Peru,"
        f"Apurímac,Cotabambas,Challhuahuacho,Fuerabamba {tag},-14.0921,-72.2431,1,Correo,Subnational,"
        "\"Comuneros de Fuerabamba exigen diálogo con la mina.\",0,,1654041600\n"
    )


def test_an_admin_imports_the_valid_rows_of_an_acled_file(vigia, admin, tmp_path):
    tag = uuid.uuid4().hex[:6]
    page = admin.page
    goto(page, vigia.base + "/admin/imports")
    page.get_by_role("link", name="Importar incidentes desde un archivo de Vigía o de ACLED (CSV o XLSX)").click()
    expect(page).to_have_title("Importar incidentes · Vigía")
    check_axe(vigia, page, "incidents import (empty)")

    path = tmp_path / "acled-peru.csv"
    path.write_text(HEADER + acled_rows(tag), encoding="utf-8")
    page.set_input_files("#events-file", str(path))
    # The check answers 422 (nothing written), which Chromium logs.
    allow_console_error(r"status of 422")
    page.get_by_role("button", name="Revisar e importar").click()
    expect(page.locator("main")).to_contain_text("No se escribió nada")
    rows = page.locator("table.bad-rows tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.nth(0).locator("td")
    expect(cells.nth(0)).to_have_text("3")
    expect(cells.nth(1)).to_have_text("event_date")
    expect(cells.nth(2)).to_have_text("Debe ser una fecha, como 2022-05-12 o 12 May 2022.")
    shot(vigia, page, "events-import-bad-row")
    check_axe(vigia, page, "incidents import (bad rows)")
    status, found = api(vigia, "GET", f"/api/v1/events?q=Tapairihua%20{tag}")
    assert status == 200 and found["items"] == [], "nothing is written yet"

    page.get_by_role("button", name="Importar solo las filas válidas").click()
    notice = page.locator(".notice")
    expect(notice).to_contain_text("Importación hecha: acled-peru.csv")
    expect(notice).to_contain_text("Incidentes nuevos: 2")
    expect(notice).to_contain_text("filas omitidas: 1")
    shot(vigia, page, "events-import-done")

    notice.get_by_role("link", name="Ver los incidentes").click()
    expect(page).to_have_url(vigia.base + "/incidents")
    # Among everyone's incidents, found by the place they were given.
    goto(page, vigia.base + f"/incidents?q={tag}")
    expect(page.locator("main")).to_contain_text(f"Looting/property destruction — Tapairihua {tag}")
    expect(page.locator("main")).to_contain_text(f"Peaceful protest — Fuerabamba {tag}")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_import_page_reads_in_english_at_any_width(vigia, admin, new_context, width, tmp_path):
    context = new_context(
        locale="en-US",
        viewport={"width": width, "height": 900},
        storage_state=admin.context.storage_state(),
    )
    page = context.new_page()
    # The admin's session keeps the language another test chose last.
    goto(page, vigia.base + "/language?to=en&back=/incidents/import")
    expect(page.locator("h1")).to_have_text("Import incidents")
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + acled_rows(uuid.uuid4().hex[:6]), encoding="utf-8")
    page.set_input_files("#events-file", str(path))
    allow_console_error(r"status of 422")
    page.get_by_role("button", name="Check and import").click()
    expect(page.locator("table.bad-rows tbody tr")).to_have_count(1)
    size = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert size[0] <= size[1], f"the import page scrolls sideways at {width}px"
    shot(vigia, page, f"en-events-import-{width}")
    check_axe(vigia, page, f"incidents import in English at {width}px")
    context.close()


def test_the_import_page_on_a_phone_in_spanish(vigia, admin, new_context):
    context = new_context(
        locale="es-PE",
        viewport={"width": 390, "height": 844},
        storage_state=admin.context.storage_state(),
    )
    page = context.new_page()
    goto(page, vigia.base + "/language?to=es&back=/incidents/import")
    expect(page.locator("h1")).to_have_text("Importar incidentes")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(vigia, page, "events-import-phone")
    context.close()
