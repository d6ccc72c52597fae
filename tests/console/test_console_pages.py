"""The console's import, mail routing, resource types, resources and chat rooms over
plain HTTP, against a running server (both databases): each change is seen through the
API that owns the concept, each refusal is shown on the page naming the field, and a
refused change stores nothing."""

from __future__ import annotations

import re
import time

import requests

from tests.conftest import RunningServer, unique
from tests.console.helpers import Console
from tests.helpers.ox import context_admin, new_person
from tests.helpers.rmp import DOMAIN, Rmp, admin, import_room_type, person, rooms_csv

JSON = {"Accept": "application/json"}
WAIT_SECONDS = 120
"""How long a test follows a job before it fails (a guard, not a timing assertion)."""
JOB_ROWS = 600
"""More rows than the server's default `import_job_rows` (500): a job."""


def _exists(rmp: Rmp, kind: str, n: int) -> bool:
    found = rmp.get(f"/resources/room-{n}@{kind}.resources.{DOMAIN}")
    assert found.status_code in (200, 404), found.text
    return found.status_code == 200


def _upload(console: Console, content: bytes, dry_run: bool = False) -> requests.Response:
    data = {"_csrf_token": console.token, **({"dry_run": "on"} if dry_run else {})}
    return console.post(
        console.base + "/import",
        files={"file": ("rooms.csv", content, "text/csv")},
        data=data,
        allow_redirects=False,
        timeout=60,
    )


def _follow(console: Console, location: str) -> tuple[str, list[str]]:
    """The job page until the job has finished, and every progress count it showed."""
    path = location.removeprefix("/admin")
    seen: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        shown = console.page(path, fragment="1")
        assert shown.status_code == 200, shown.text
        count = re.search(r'<span id="job-count">([^<]*)</span>', shown.text)
        assert count, shown.text
        seen.append(count.group(1))
        if "hx-trigger" not in shown.text:  # finished: it polls no more
            return console.page(path).text, seen
        time.sleep(0.2)
    raise AssertionError(f"the job did not finish: {seen[-3:]}")


def test_a_small_import_answers_on_the_page(server: RunningServer) -> None:
    rmp = admin(server)
    kind = import_room_type(rmp)
    console = Console(server)
    console.sign_in()
    console.page("/import")
    checked = _upload(console, rooms_csv(kind, 3), dry_run=True)
    assert checked.status_code == 200, checked.text
    assert "3 resources, 0 types, 0 bookings would be imported" in checked.text
    assert not _exists(rmp, kind, 0)
    done = _upload(console, rooms_csv(kind, 3))
    assert done.status_code == 200, done.text
    assert "3 resources, 0 types, 0 bookings imported" in done.text
    assert _exists(rmp, kind, 2)


def test_bad_rows_are_listed_by_number_and_nothing_is_stored(server: RunningServer) -> None:
    rmp = admin(server)
    kind = import_room_type(rmp)
    console = Console(server)
    console.sign_in()
    console.page("/import")
    refused = _upload(console, rooms_csv(kind, 10, frozenset({3, 7})))
    assert refused.status_code == 400, refused.text
    assert 'role="alert"' in refused.text
    rows = re.findall(r"<tr><td>resources</td><td>(\d+)</td><td><code>([^<]*)</code>", refused.text)
    # CSV rows are numbered by line: the header is line 1, room 3 is line 5.
    assert [r for r, _ in rows] == ["5", "9"], rows
    assert all("floor" in f for _, f in rows), rows
    assert not any(_exists(rmp, kind, n) for n in (0, 4, 9))
    empty = console.post(
        console.base + "/import",
        data={"_csrf_token": console.token},
        allow_redirects=False,
        timeout=30,
    )
    assert empty.status_code == 400 and "file" in empty.text
    unsigned = requests.post(
        console.base + "/import", files={"file": ("x.csv", b"name\n")}, allow_redirects=False
    )
    assert unsigned.status_code in (303, 403)


def test_a_large_import_is_a_job_whose_progress_is_shown_to_done(server: RunningServer) -> None:
    rmp = admin(server)
    kind = import_room_type(rmp)
    console = Console(server)
    console.sign_in()
    console.page("/import")
    started = _upload(console, rooms_csv(kind, JOB_ROWS))
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith("/admin/import/jobs/")
    first = console.page(location.removeprefix("/admin"))
    assert first.status_code == 200
    assert "<progress" in first.text and 'http-equiv="refresh"' in first.text
    final, seen = _follow(console, location)
    assert "Done." in final and f"{JOB_ROWS} resources, 0 types, 0 bookings imported" in final
    assert f"{JOB_ROWS} of {JOB_ROWS} rows" in final
    assert 'http-equiv="refresh"' not in final
    assert seen[-1] == f"{JOB_ROWS} of {JOB_ROWS} rows", seen
    assert _exists(rmp, kind, 0) and _exists(rmp, kind, JOB_ROWS - 1)


def test_a_large_import_with_bad_rows_fails_listing_them(server: RunningServer) -> None:
    rmp = admin(server)
    kind = import_room_type(rmp)
    console = Console(server)
    console.sign_in()
    console.page("/import")
    started = _upload(console, rooms_csv(kind, JOB_ROWS, frozenset({10, 500})))
    assert started.status_code == 303, started.text
    final, _ = _follow(console, started.headers["location"])
    assert "Failed: nothing was stored." in final
    rows = re.findall(r"<tr><td>resources</td><td>(\d+)</td>", final)
    assert rows == ["12", "502"], rows
    assert not any(_exists(rmp, kind, n) for n in (0, 11, JOB_ROWS - 1))


def test_forwards_and_sender_lists_are_the_ox_apis(server: RunningServer) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    address = f"{name}@example.org"
    console = Console(server)
    console.sign_in()
    page = console.page(f"/people/{name}")
    assert page.status_code == 200
    assert f'<strong id="forwarded-address">{address}</strong>' in page.text
    target = f"{unique('away')}@elsewhere.test"
    added = console.submit(f"/people/{name}/forwards", {"recipient": target})
    assert added.status_code == 303, added.text
    assert ox.get(f"/admin/forwards/1/{address}").json() == [target]
    assert target in console.page(f"/people/{name}").text
    bad = console.submit(f"/people/{name}/forwards", {"recipient": "not an address"})
    assert bad.status_code == 400 and "recipient" in bad.text and 'role="alert"' in bad.text
    assert ox.get(f"/admin/forwards/1/{address}").json() == [target]

    listed = console.submit(f"/people/{name}/senders", {"list": "black", "pattern": "*@spam.test"})
    assert listed.status_code == 303, listed.text
    black = ox.get(f"/admin/contexts/1/users/{uid}/blacklist").json()
    assert black == {"blacklist": ["*@spam.test"]}
    white = console.submit(f"/people/{name}/senders", {"list": "white", "pattern": "boss@x.test"})
    assert white.status_code == 303
    assert ox.get(f"/admin/contexts/1/users/{uid}/whitelist").json() == {
        "whitelist": ["boss@x.test"]
    }
    wrong = console.submit(f"/people/{name}/senders", {"list": "black", "pattern": "a b"})
    assert wrong.status_code == 400 and "pattern" in wrong.text
    which = console.submit(f"/people/{name}/senders", {"list": "grey", "pattern": "a@b.test"})
    assert which.status_code == 400 and "list" in which.text
    assert ox.get(f"/admin/contexts/1/users/{uid}/blacklist").json() == black

    off = console.submit(
        f"/people/{name}/senders/remove", {"list": "black", "pattern": "*@spam.test"}
    )
    assert off.status_code == 303
    assert ox.get(f"/admin/contexts/1/users/{uid}/blacklist").json() == {"blacklist": []}
    gone = console.submit(f"/people/{name}/forwards/remove", {"recipient": target})
    assert gone.status_code == 303
    assert ox.get(f"/admin/forwards/1/{address}").status_code == 404


def test_a_type_is_created_edited_and_deleted_and_a_resource_of_it(server: RunningServer) -> None:
    rmp = admin(server)
    console = Console(server)
    console.sign_in()
    console.page("/resources")
    kind = unique("desk")
    form = {
        "id": kind,
        "name": "Hot desk",
        "category": "desks",
        "fields": "capacity number required\nside select options=window|aisle",
    }
    made = console.submit("/resources/types", form)
    assert made.status_code == 303, made.text
    seen = rmp.get("/resource-types").json()["types"]
    mine = next(t for t in seen if t["id"] == kind)
    assert mine["name"] == "Hot desk" and mine["category"] == "desks"
    assert mine["fields"][1] == {"name": "side", "type": "select", "options": ["window", "aisle"]}
    again = console.submit("/resources/types", form)
    assert again.status_code == 409 and kind in again.text
    bad = console.submit("/resources/types", {**form, "id": "Not A Slug"})
    assert bad.status_code == 400 and "id" in bad.text and 'role="alert"' in bad.text
    odd = console.submit("/resources/types", {**form, "id": unique("x"), "fields": "a colour"})
    assert odd.status_code == 400 and "fields" in odd.text

    console.page("/resources")
    missing = console.submit("/resources", {"name": "Desk 1", "type": kind})
    assert missing.status_code == 400 and "capacity" in missing.text
    desk = console.submit(
        "/resources", {"name": "Desk 1", "type": kind, "capacity": "1", "values": "side=window"}
    )
    assert desk.status_code == 303, desk.text
    address = desk.headers["location"].split("?")[0].removeprefix("/admin/resources/")
    shown = rmp.get(f"/resources/{address}")
    assert shown.status_code == 200, shown.text
    resource = shown.json()["resource"]
    assert resource["capacity"] == 1 and resource["customFields"]["side"] == "window"

    console.page(f"/resources/types/{kind}")
    edited = console.submit(
        f"/resources/types/{kind}",
        {"name": "Quiet desk", "category": "desks", "fields": "capacity number required"},
    )
    assert edited.status_code == 303, edited.text
    assert (
        next(t for t in rmp.get("/resource-types").json()["types"] if t["id"] == kind)["name"]
        == "Quiet desk"
    )
    used = console.submit(f"/resources/types/{kind}/delete", {})
    assert used.status_code == 409 and address in used.text
    assert console.submit(f"/resources/{address}/delete", {}).status_code == 303
    assert rmp.get(f"/resources/{address}").status_code == 404
    assert console.submit(f"/resources/types/{kind}/delete", {}).status_code == 303
    assert kind not in {t["id"] for t in rmp.get("/resource-types").json()["types"]}
    assert console.submit(f"/resources/types/{kind}/delete", {}).status_code == 404


def test_a_room_is_created_and_deleted_as_openfire_sees_it(
    server: RunningServer, http: requests.Session
) -> None:
    console = Console(server)
    console.sign_in()
    console.page("/rooms")
    room = unique("standup")
    made = console.submit(
        "/rooms", {"name": room, "natural_name": "Daily standup", "description": "At nine"}
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"/admin/rooms/conference/{room}?notice=created"
    seen = http.get(f"{server.api}/chatrooms/{room}", headers=JSON)
    assert seen.status_code == 200, seen.text
    assert seen.json()["naturalName"] == "Daily standup"
    assert seen.json()["description"] == "At nine"
    again = console.submit("/rooms", {"name": room})
    assert again.status_code == 409 and room in again.text
    bad = console.submit("/rooms", {"name": "no spaces here"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert http.get(f"{server.api}/chatrooms/{unique('x')}", headers=JSON).status_code == 404
    path = f"/rooms/conference/{room}"
    console.page(path)
    assert console.submit(path + "/delete", {}).status_code == 303
    assert http.get(f"{server.api}/chatrooms/{room}", headers=JSON).status_code == 404


def test_types_are_for_server_admins_only_as_in_rmp(server: RunningServer) -> None:
    _, email = person(server, is_admin=True)
    console = Console(server)
    assert console.sign_in(email.split("@")[0], "pw-123456").status_code == 303
    listed = console.page("/resources")
    assert listed.status_code == 200 and "New resource type" not in listed.text
    kind = unique("nope")
    refused = console.submit("/resources/types", {"id": kind, "name": "Nope"})
    assert refused.status_code == 403 and "Only a server administrator" in refused.text
    assert kind not in {t["id"] for t in admin(server).get("/resource-types").json()["types"]}
