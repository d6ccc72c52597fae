"""The console's refusals over plain HTTP, against a running server (both databases):
who is let in, the session cookie's flags, CSRF, a lockout and sign-out ending the
session, and bad input answered on the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server, unique
from tests.console.helpers import Console
from tests.helpers.rmp import admin, make_resource, person
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.presence import NewLiveConnection


def _user(http: requests.Session, server: RunningServer, name: str) -> int:
    answer = http.get(f"{server.api}/users/{name}", headers={"Accept": "application/json"})
    return answer.status_code


def test_every_page_sends_a_stranger_to_sign_in(server: RunningServer) -> None:
    for path in ("/admin", "/admin/people", "/admin/audit", "/admin/resources"):
        answer = requests.get(server.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/admin/login", path
    login = requests.get(f"{server.url}/admin/login", timeout=10)
    assert login.status_code == 200
    assert "text/html" in login.headers["content-type"]
    assert '<label for="password">' in login.text


def test_the_session_cookie_is_http_only_strict_and_scoped_to_admin(
    server: RunningServer,
) -> None:
    console = Console(server)
    answer = console.sign_in()
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin/people"
    cookie = next(
        c for c in answer.headers["set-cookie"].split(", townhall") if "townhall_console=" in c
    )
    assert "HttpOnly" in cookie and "Path=/admin" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http here; set when the request is https
    people = console.page("/people")
    assert people.status_code == 200 and "Sign out" in people.text


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    server: RunningServer, http: requests.Session
) -> None:
    console = Console(server)
    console.sign_in()
    name = unique("csrf")
    form = {"username": name, "password": "pw-12345678"}
    without = console.submit("/people", form, token=False)
    assert without.status_code == 403, without.text
    assert "security token" in without.text
    forged = console.post(
        f"{console.base}/people", data={**form, "_csrf_token": "x" * 64}, allow_redirects=False
    )
    assert forged.status_code == 403
    assert _user(http, server, name) == 404
    made = console.submit("/people", form)
    assert made.status_code == 303, made.text
    assert _user(http, server, name) == 200


def test_the_sign_in_form_needs_its_token_too(server: RunningServer) -> None:
    bare = requests.post(
        f"{server.url}/admin/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert bare.status_code == 403
    assert "townhall_console=" not in bare.headers.get("set-cookie", "")


def test_the_apis_are_not_csrf_checked(server: RunningServer, http: requests.Session) -> None:
    name = unique("api")
    made = http.post(
        f"{server.api}/users",
        json={"username": name, "password": "pw-12345678"},
        headers={"Accept": "application/json"},
    )
    assert made.status_code == 201, made.text


def test_wrong_password_and_non_admins_are_refused(server: RunningServer) -> None:
    console = Console(server)
    wrong = console.sign_in("admin", "not-the-password")
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.text
    _, email = person(server)
    plain = console.sign_in(email.split("@")[0], "pw-123456")
    assert plain.status_code == 403
    assert "is not an administrator" in plain.text
    assert "townhall_console=" not in plain.headers.get("set-cookie", "")
    assert console.page("/people").status_code == 303


def test_locking_an_admin_ends_their_console_session(
    server: RunningServer, http: requests.Session
) -> None:
    _, email = person(server, is_admin=True)
    name = email.split("@")[0]
    console = Console(server)
    assert console.sign_in(name, "pw-123456").status_code == 303
    assert console.page("/people").status_code == 200
    locked = http.post(f"{server.api}/lockouts/{name}", headers={"Accept": "application/json"})
    assert locked.status_code == 201, locked.text
    answer = console.page("/people")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login"
    assert console.sign_in(name, "pw-123456").status_code == 401


def test_sign_out_ends_the_session_even_for_a_kept_cookie(server: RunningServer) -> None:
    console = Console(server)
    console.sign_in()
    kept = console.cookies.get("townhall_console", path="/admin")
    assert kept
    out = console.submit("/logout", {})
    assert out.status_code == 303
    assert out.headers["location"] == "/admin/login?signed_out=1"
    replay = requests.get(
        f"{server.url}/admin/people",
        cookies={"townhall_console": kept},
        allow_redirects=False,
        timeout=10,
    )
    assert replay.status_code == 303
    assert replay.headers["location"] == "/admin/login"


def test_bad_input_is_shown_on_the_page_naming_the_field(server: RunningServer) -> None:
    console = Console(server)
    console.sign_in()
    console.page("/people/new")
    bad = console.submit("/people", {"username": "no spaces allowed", "password": "pw-12345678"})
    assert bad.status_code == 400
    assert "username" in bad.text and 'role="alert"' in bad.text
    short = console.submit("/people", {"username": unique("short"), "password": "x"})
    assert short.status_code == 400 and "password" in short.text
    missing = console.page("/people/" + unique("ghost"))
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    unknown = console.page("/nothing-here")
    assert unknown.status_code == 404 and "No such page." in unknown.text
    week = console.page("/audit", since="yesterday")
    assert week.status_code == 400 and "since" in week.text


@pytest.fixture(scope="module")
def strict_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server that lets one account fail twice per window."""
    folder: Path = tmp_path_factory.mktemp("console-limits")
    running = start_server(
        database_url, folder / "server.log", TOWNHALL_LOGIN_FAILURES_PER_ACCOUNT="2"
    )
    yield running
    stop_server(running)


def test_the_failed_login_limits_hold_for_the_console(strict_server: RunningServer) -> None:
    console = Console(strict_server)
    _, email = person(strict_server, is_admin=True)
    name = email.split("@")[0]
    assert console.sign_in(name, "wrong-1").status_code == 401
    assert console.sign_in(name, "wrong-2").status_code == 401
    held = console.sign_in(name, "pw-123456")
    assert held.status_code == 429, held.text
    assert "too many failed logins" in held.text


JSON = {"Accept": "application/json"}


def test_groups_and_members_are_the_apis_groups(
    server: RunningServer, http: requests.Session
) -> None:
    console = Console(server)
    console.sign_in()
    member = unique("member")
    assert console.submit("/people", {"username": member}).status_code == 303
    group = unique("Team ")
    console.page("/groups")
    made = console.submit("/groups", {"name": group, "description": "From the console"})
    assert made.status_code == 303, made.text
    path = made.headers["location"].split("?")[0].removeprefix("/admin")
    console.page(path)
    assert console.submit(path + "/members", {"member": member}).status_code == 303
    seen = http.get(f"{server.api}/groups/{group}", headers=JSON)
    assert seen.status_code == 200, seen.text
    assert seen.json()["description"] == "From the console"
    assert member in str(seen.json()["members"])
    assert member in console.page(path).text
    assert console.submit(path + "/members/remove", {"member": member}).status_code == 303
    assert member not in str(http.get(f"{server.api}/groups/{group}", headers=JSON).json())
    again = console.submit("/groups", {"name": group})
    assert again.status_code == 409 and group in again.text
    assert console.submit(path + "/delete", {}).status_code == 303
    assert http.get(f"{server.api}/groups/{group}", headers=JSON).status_code == 404


def test_system_properties_are_set_and_deleted(
    server: RunningServer, http: requests.Session
) -> None:
    console = Console(server)
    console.sign_in()
    key = unique("console.prop")
    console.page("/settings")
    assert console.submit("/settings", {"key": key, "value": "on"}).status_code == 303
    read = http.get(f"{server.api}/system/properties/{key}", headers=JSON)
    assert read.status_code == 200 and read.json()["value"] == "on"
    listed = console.page("/settings")
    assert key in listed.text
    assert console.submit("/settings/delete", {"key": key}).status_code == 303
    assert http.get(f"{server.api}/system/properties/{key}", headers=JSON).status_code == 404
    gone = console.submit("/settings/delete", {"key": key})
    assert gone.status_code == 404 and key in gone.text


def test_groups_and_properties_are_for_server_admins_only(server: RunningServer) -> None:
    _, email = person(server, is_admin=True)
    console = Console(server)
    assert console.sign_in(email.split("@")[0], "pw-123456").status_code == 303
    assert console.page("/people").status_code == 200
    for path in ("/groups", "/settings"):
        refused = console.page(path)
        assert refused.status_code == 403, path
        assert "Only a server administrator" in refused.text
    assert console.submit("/settings", {"key": unique("x"), "value": "y"}).status_code == 403


@pytest.mark.parametrize(("scheme", "secure"), [("https", True), ("http", False)])
def test_the_session_cookie_is_secure_when_the_request_is_https(scheme: str, secure: bool) -> None:
    from litestar import Request

    from townhall.dialects.console import web

    scope = {
        "type": "http",
        "scheme": scheme,
        "method": "POST",
        "path": "/admin/login",
        "raw_path": b"/admin/login",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"console.example")],
        "server": ("console.example", 443),
    }
    header = web.session_cookie(Request(scope), "token").to_header(header="")  # type: ignore[arg-type]
    assert ("Secure" in header) is secure, header
    assert "HttpOnly" in header and "Path=/admin" in header and "SameSite=strict" in header


def test_chat_rooms_made_by_an_api_are_listed_and_their_members_granted(
    server: RunningServer, http: requests.Session
) -> None:
    room = unique("lobby")
    made = http.post(
        f"{server.api}/chatrooms",
        json={"roomName": room, "naturalName": "Console lobby", "description": "Hello"},
        headers=JSON,
    )
    assert made.status_code == 201, made.text
    console = Console(server)
    console.sign_in()
    listed = console.page("/rooms", q=room)
    assert listed.status_code == 200 and "Console lobby" in listed.text
    path = f"/rooms/conference/{room}"
    assert "Console lobby" in console.page(path).text
    jid = f"{unique('guest')}@example.org"
    granted = console.submit(path + "/members", {"who": jid, "affiliation": "member"})
    assert granted.status_code == 303, granted.text
    seen = http.get(f"{server.api}/chatrooms/{room}", headers=JSON).json()
    assert jid in str(seen["members"])
    bad = console.submit(path + "/members", {"who": jid, "affiliation": "king"})
    assert bad.status_code == 400 and "affiliation" in bad.text
    revoked = console.submit(path + "/members/remove", {"who": jid, "affiliation": "member"})
    assert revoked.status_code == 303
    assert jid not in str(http.get(f"{server.api}/chatrooms/{room}", headers=JSON).json())


async def test_live_sessions_are_listed_and_a_person_disconnected(
    server: RunningServer, http: requests.Session, services: Services
) -> None:
    name = unique("online")
    made = http.post(
        f"{server.api}/users", json={"username": name, "password": "pw-12345678"}, headers=JSON
    )
    assert made.status_code == 201, made.text
    actor = Principal(await services.tenants.first(), "xmpp")  # type: ignore[arg-type]
    await services.presence.register(actor, NewLiveConnection(name, "desk", host_name="pc1"))
    console = Console(server)
    console.sign_in()
    listed = console.page("/sessions", username=name)
    assert listed.status_code == 200
    assert "desk" in listed.text and "pc1" in listed.text
    closed = console.submit("/sessions/close", {"username": name})
    assert closed.status_code == 303, closed.text
    assert await services.presence.connections(actor, name) == []
    assert "Nobody is connected." in console.page("/sessions", username=name).text


def test_a_tenant_admin_sees_their_own_tenant_only(server: RunningServer) -> None:
    domain = f"{unique('tenant')}.test"
    made = admin(server).post("/admin/tenants", json={"domain": domain, "name": "Other"})
    assert made.status_code == 201, made.text
    password = made.json()["admin"]["password"]
    theirs = Console(server, host=domain)
    assert theirs.sign_in("admin", password).status_code == 303
    page = theirs.page("/people")
    assert page.status_code == 200 and domain in page.text
    name = unique("theirs")
    assert theirs.submit("/people", {"username": name}).status_code == 303
    link = f'href="/admin/people/{name}"'
    assert link in theirs.page("/people", q=name).text
    ours = Console(server)
    ours.sign_in()
    assert link not in ours.page("/people", q=name).text
    assert ours.page(f"/people/{name}").status_code == 404
    # The first tenant's password is not the other tenant's admin's.
    assert Console(server, host=domain).sign_in("admin", ADMIN_PASSWORD).status_code == 401
    # The operator (a server admin of the first tenant) sees every tenant; theirs not.
    listed = ours.page("/tenants")
    assert listed.status_code == 200 and domain in listed.text and "example.org" in listed.text
    refused = theirs.page("/tenants")
    assert refused.status_code == 403 and "operator" in refused.text


def test_resources_list_their_types_and_filter_by_one(server: RunningServer) -> None:
    rmp = admin(server)
    address = make_resource(rmp)
    kind = address.split("@")[1].split(".")[0]
    other = make_resource(rmp)
    console = Console(server)
    console.sign_in()
    listed = console.page("/resources")
    assert listed.status_code == 200
    assert f"<code>{kind}</code>" in listed.text
    of_kind = console.page("/resources", type=kind).text
    assert address in of_kind and other not in of_kind
    week = console.page(f"/resources/{address}", week="2026-13-01")
    assert week.status_code == 400 and "week" in week.text
    unknown = console.page("/resources/nothing@nowhere.example")
    assert unknown.status_code == 404


def test_a_password_reset_in_the_console_is_the_one_every_api_checks(
    server: RunningServer,
) -> None:
    console = Console(server)
    console.sign_in()
    name = unique("reset")
    email = f"{name}@example.org"
    form = {"username": name, "email": email, "password": "old-password-1"}
    assert console.submit("/people", form).status_code == 303
    console.page(f"/people/{name}")
    reset = console.submit(f"/people/{name}/password", {"password": "new-password-2"})
    assert reset.status_code == 303
    assert reset.headers["location"] == f"/admin/people/{name}?notice=password"
    login = f"{server.url}/api/v2/auth/login"
    old = requests.post(login, json={"email": email, "password": "old-password-1"}, timeout=10)
    assert old.status_code == 401
    new = requests.post(login, json={"email": email, "password": "new-password-2"}, timeout=10)
    assert new.status_code == 200, new.text
    short = console.submit(f"/people/{name}/password", {"password": "x"})
    assert short.status_code == 400 and "password" in short.text
