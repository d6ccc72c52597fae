"""The console end to end in a real browser: Debian's Chromium driven by Playwright
(its own driver, no browser download), against a running server on both databases.

Each step leaves a screenshot in test-artifacts/console/ (named by database and step),
kept by CI as the test's artefacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique
from tests.helpers.ox import context_admin, new_person
from tests.helpers.rmp import admin, make_resource, person

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture(scope="module")
def browser(server: RunningServer) -> Iterator[Browser]:
    """One browser per server. It asks for the server so that it is closed before the
    next database's fixtures start: Playwright's sync API keeps an event loop running in
    this thread, in which they could not run theirs."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as driver:
        # As root (CI, containers) Chromium runs only without its sandbox.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def shot(page: Page, server: RunningServer, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kind = "sqlite" if server.database_url.startswith("sqlite") else "postgresql"
    page.screenshot(path=ARTIFACTS / f"{kind}-{step}.png", full_page=True)


def sign_in(page: Page, server: RunningServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/admin")
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admins_day_in_the_console(page: Page, server: RunningServer) -> None:
    resource = make_resource(admin(server))
    name = unique("carol")

    # Sign in with the keyboard alone: the form is focused and tabs in order.
    page.goto(f"{server.url}/admin")
    expect(page.get_by_label("Username", exact=True)).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    shot(page, server, "01-sign-in")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    # The skip link is the first stop of the keyboard on every page.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()
    shot(page, server, "02-people")

    # Create a person.
    page.get_by_role("link", name="New person").click()
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Display name", exact=True).fill("Carol Console")
    page.get_by_label("E-mail", exact=True).fill(f"{name}@example.org")
    page.get_by_label("Password", exact=True).fill("pw-12345678")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    shot(page, server, "03-person-created")

    # Find them by search (htmx updates the table as one types; Enter searches
    # whether or not htmx has taken over the new page yet).
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_label("Search by username, name or e-mail", exact=True).fill("Carol Console")
    page.get_by_label("Search by username, name or e-mail", exact=True).press("Enter")
    table = page.get_by_role("region", name="People found")
    expect(table.get_by_role("link", name=name)).to_be_visible()
    expect(table).to_contain_text("1 person matching")
    shot(page, server, "04-search")

    # Lock them.
    table.get_by_role("link", name=name).click()
    page.get_by_role("button", name=f"Lock {name}").click()
    expect(page.get_by_role("status")).to_contain_text("Locked")
    expect(page.get_by_role("button", name=f"Unlock {name}")).to_be_visible()
    shot(page, server, "05-locked")

    # See the lock in the audit log, filtered by action.
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action", exact=True).fill("user.locked")
    page.get_by_role("button", name="Filter").click()
    audit = page.locator("#audit")
    expect(audit).to_contain_text(f"user.locked: {name}")
    expect(audit).not_to_contain_text("user.created")
    shot(page, server, "06-audit")

    # Book the resource next week, then see an overlapping booking refused.
    day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    page.get_by_role("link", name="Resources").click()
    expect(page.get_by_role("heading", name="Resources")).to_be_visible()
    page.get_by_role("row").filter(has_text=resource).get_by_role("link").click()
    page.get_by_label("Title", exact=True).fill("Planning")
    page.get_by_label("Day", exact=True).fill(day)
    page.get_by_label("From (UTC)", exact=True).fill("09:00")
    page.get_by_label("Until (UTC)", exact=True).fill("10:00")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("status")).to_have_text("Booked: Planning")
    expect(page.locator(".booking")).to_contain_text("09:00\u201310:00")
    shot(page, server, "07-booked")
    page.get_by_label("Title", exact=True).fill("Clash")
    page.get_by_label("Day", exact=True).fill(day)
    page.get_by_label("From (UTC)", exact=True).fill("09:30")
    page.get_by_label("Until (UTC)", exact=True).fill("10:30")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("alert")).to_contain_text("already booked")
    expect(page.locator(".booking")).to_have_count(1)
    shot(page, server, "08-conflict-refused")

    # On a phone the people list still reads.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    shot(page, server, "09-people-on-a-phone")

    # A POST with the browser's own cookies but without the form's token is refused.
    forged = page.request.post(
        f"{server.url}/admin/people", form={"username": unique("forged")}, max_redirects=0
    )
    assert forged.status == 403
    assert "security token" in forged.text()

    # Sign out: the pages are closed again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("Signed out.")
    page.goto(f"{server.url}/admin/people")
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    shot(page, server, "10-signed-out")


def test_a_non_admin_is_refused(page: Page, server: RunningServer) -> None:
    _, email = person(server)
    sign_in(page, server, email.split("@")[0], "pw-123456")
    expect(page.get_by_role("alert")).to_contain_text("is not an administrator")
    page.goto(f"{server.url}/admin/people")
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    shot(page, server, "11-non-admin-refused")


def test_a_person_is_deleted_after_confirming(page: Page, server: RunningServer) -> None:
    name = unique("dave")
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="New person").click()
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    page.get_by_label("Display name", exact=True).fill("Dave Renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Display name", exact=True)).to_have_value("Dave Renamed")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_role("status")).to_have_text(f"{name} deleted")
    page.get_by_label("Search by username, name or e-mail", exact=True).fill(name)
    page.get_by_label("Search by username, name or e-mail", exact=True).press("Enter")
    expect(page.get_by_role("region", name="People found")).to_contain_text("0 people")
    shot(page, server, "12-deleted")


def test_groups_members_and_system_properties(page: Page, server: RunningServer) -> None:
    member, group, key = unique("erin"), unique("Crew "), unique("console.flag")
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="New person").click()
    page.get_by_label("Username", exact=True).fill(member)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_have_text("Created.")

    page.get_by_role("link", name="Groups").click()
    page.get_by_label("Name", exact=True).fill(group)
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name=group)).to_be_visible()
    page.get_by_label("Username or address", exact=True).fill(member)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text("Member added.")
    expect(page.locator("#members")).to_contain_text(member)
    shot(page, server, "13-group-members")

    page.get_by_role("link", name="System properties").click()
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_label("Value", exact=True).fill("enabled")
    page.get_by_role("button", name="Save property").click()
    expect(page.get_by_role("status")).to_have_text(f"{key} saved")
    expect(page.locator("#properties").get_by_role("row").filter(has_text=key)).to_contain_text(
        "enabled"
    )
    shot(page, server, "14-system-properties")


# -- import, mail routing, resource types, rooms ------------------------------------------


def _import_type(server: RunningServer) -> str:
    kind = unique("brimp")
    made = admin(server).post(
        "/resource-types",
        json={
            "id": kind,
            "name": "Browser import room",
            "category": "meeting-resources",
            "fields": [
                {"name": "capacity", "type": "number", "required": True},
                {"name": "floor", "type": "select", "options": ["1st", "2nd"]},
            ],
        },
    )
    assert made.status_code == 201, made.text
    return kind


def _rooms_csv(path: Path, kind: str, rows: int, bad: frozenset[int] = frozenset()) -> Path:
    lines = ["name,type,capacity,floor"]
    lines += [f"Room {n},{kind},4,{'9th' if n in bad else '1st'}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_import_shows_its_progress_then_bad_rows_by_number(
    page: Page, server: RunningServer, tmp_path: Path
) -> None:
    kind = _import_type(server)
    rmp = admin(server)
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import resources")).to_be_visible()
    # 600 rows: more than the server's import_job_rows, so a job with a progress bar.
    page.get_by_label("CSV or JSON file").set_input_files(
        _rooms_csv(tmp_path / "big.csv", kind, 600)
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import job")).to_be_visible()
    expect(page.locator("progress#job-progress")).to_be_visible()
    expect(page.locator("#job-state")).to_have_text("Done.", timeout=120_000)
    expect(page.locator("#job-count")).to_have_text("600 of 600 rows")
    expect(page.locator("#result")).to_contain_text("600 resources, 0 types, 0 bookings imported")
    shot(page, server, "15-import-job-done")
    found = rmp.get(f"/resources/room-599@{kind}.resources.example.org")
    assert found.status_code == 200, found.text

    other = _import_type(server)
    page.get_by_role("link", name="Import another file").click()
    bad = _rooms_csv(tmp_path / "bad.csv", other, 10, frozenset({3, 7}))
    page.get_by_label("CSV or JSON file").set_input_files(bad)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("floor")
    errors = page.locator("#row-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("5")
    expect(errors.nth(1)).to_contain_text("9")
    shot(page, server, "16-import-row-errors")
    nothing = rmp.get(f"/resources/room-0@{other}.resources.example.org")
    assert nothing.status_code == 404


def test_a_forward_and_a_black_list_entry_on_a_persons_page(
    page: Page, server: RunningServer
) -> None:
    uid, name = new_person(server)
    ox = context_admin(server)
    target = f"{unique('away')}@elsewhere.test"
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/admin/people/{name}")
    expect(page.get_by_role("heading", name="Mail routing")).to_be_visible()
    page.get_by_label("Forward to address", exact=True).fill(target)
    page.get_by_role("button", name="Add forward").click()
    expect(page.get_by_role("status")).to_have_text("Forward added.")
    expect(page.locator("#forwards")).to_contain_text(target)
    assert ox.get(f"/admin/forwards/1/{name}@example.org").json() == [target]
    page.get_by_label("Sender address or domain").fill("*@spam.test")
    page.get_by_label("List", exact=True).select_option("black")
    page.get_by_role("button", name="Add to list").click()
    expect(page.get_by_role("status")).to_have_text("Sender list entry added.")
    expect(page.locator("#blacklist")).to_contain_text("*@spam.test")
    shot(page, server, "17-mail-routing")
    listed = ox.get(f"/admin/contexts/1/users/{uid}/blacklist").json()
    assert listed == {"blacklist": ["*@spam.test"]}
    page.get_by_label("Sender address or domain").fill("not a pattern")
    page.get_by_role("button", name="Add to list").click()
    expect(page.get_by_role("alert")).to_contain_text("pattern")


def test_a_type_is_created_and_a_resource_of_it(page: Page, server: RunningServer) -> None:
    kind = unique("booth")
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Resources").click()
    page.get_by_label("Type id", exact=True).fill(kind)
    page.get_by_label("Type name", exact=True).fill("Phone booth")
    page.locator("#type-fields").fill("capacity number required")
    page.get_by_role("button", name="Create type").click()
    expect(page.get_by_role("status")).to_have_text(f"Type created: {kind}")
    expect(page.locator("#types")).to_contain_text(kind)
    page.get_by_label("Resource name", exact=True).fill("Booth A")
    page.get_by_label("Resource type", exact=True).select_option(kind)
    page.get_by_label("Capacity", exact=True).fill("1")
    page.get_by_role("button", name="Create resource").click()
    expect(page.get_by_role("status")).to_have_text("Created: Booth A")
    expect(page.get_by_role("heading", name="Booth A", exact=True)).to_be_visible()
    shot(page, server, "18-type-and-resource")
    seen = admin(server).get(f"/resources/booth-a@{kind}.resources.example.org")
    assert seen.status_code == 200, seen.text
    assert seen.json()["resource"]["type"] == kind


def test_a_room_is_created_and_seen_through_openfire(page: Page, server: RunningServer) -> None:
    room = unique("retro")
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Chat rooms").click()
    page.get_by_label("Room name", exact=True).fill(room)
    page.get_by_label("Display name", exact=True).fill("Sprint retro")
    page.get_by_role("button", name="Create room").click()
    expect(page.get_by_role("status")).to_have_text("Room created.")
    expect(page.get_by_role("heading", name="Sprint retro")).to_be_visible()
    shot(page, server, "19-room-created")
    seen = requests.get(
        f"{server.api}/chatrooms/{room}",
        auth=("admin", ADMIN_PASSWORD),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["naturalName"] == "Sprint retro"
