"""RMP test helpers: an authenticated `requests` session against the running server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.conftest import ADMIN_PASSWORD, RunningServer, unique

DOMAIN = "example.org"


class Rmp(requests.Session):
    """A session whose relative paths are under `/api/v2` and that carries a Bearer token."""

    def __init__(self, server: RunningServer) -> None:
        super().__init__()
        self.base = f"{server.url}/api/v2"
        self.login_answer: dict[str, Any] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kw: Any) -> Any:
        path = url.decode() if isinstance(url, bytes) else url
        full = path if path.startswith("http") else self.base + path
        return super().request(method, full, *args, **kw)

    def login(self, email: str, password: str) -> Rmp:
        answer = self.post("/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        self.login_answer = answer.json()
        self.headers["Authorization"] = f"Bearer {self.login_answer['token']}"
        return self


def admin(server: RunningServer) -> Rmp:
    return Rmp(server).login(f"admin@{DOMAIN}", ADMIN_PASSWORD)


def person(server: RunningServer, is_admin: bool = False) -> tuple[Rmp, str]:
    """A new person (created by the admin) logged in; returns the session and the address."""
    email = f"{unique('rmp')}@{DOMAIN}"
    created = admin(server).post(
        "/users",
        json={
            "email": email,
            "password": "pw-123456",
            "realName": "Test Person",
            "isAdmin": is_admin,
        },
    )
    assert created.status_code == 201, created.text
    return Rmp(server).login(email, "pw-123456"), email


def refused(answer: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The error envelope of a refused request, checked."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]["code"].isupper() and body["error"]["message"]
    if field is not None:
        assert body["error"]["details"]["field"] == field, body
    return body["error"]  # type: ignore[no-any-return]


def at(hours: float, day: int = 1) -> str:
    """A time `day` days from now (tomorrow by default) at `hours` o'clock UTC."""
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (base + timedelta(days=day, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_resource(rmp: Rmp, capacity: int = 8, features: list[str] | None = None) -> str:
    kind = unique("room-type")
    made = rmp.post(
        "/resource-types",
        json={
            "id": kind,
            "name": "Meeting room",
            "category": "meeting-resources",
            "fields": [
                {"name": "capacity", "type": "number", "required": True},
                {"name": "features", "type": "multiselect", "options": ["projector", "whiteboard"]},
            ],
        },
    )
    assert made.status_code == 201, made.text
    created = rmp.post(
        "/resources",
        json={
            "name": unique("Room "),
            "type": kind,
            "category": "meeting-resources",
            "customFields": {"capacity": capacity, "features": features or ["projector"]},
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["resource"]["id"])


def book(rmp: Rmp, resource: str, start: str, end: str, **extra: object) -> requests.Response:
    payload = {"resourceId": resource, "title": "Team Meeting", "startTime": start, "endTime": end}
    return rmp.post("/bookings", json={**payload, **extra})


ROOM_FIELDS = [
    {"name": "capacity", "type": "number", "required": True},
    {"name": "features", "type": "multiselect", "options": ["projector", "whiteboard"]},
    {"name": "floor", "type": "select", "options": ["1st", "2nd", "3rd"]},
]


def resource_type(rmp: Rmp, category: str = "meeting-resources") -> str:
    kind = unique("conf-room")
    made = rmp.post(
        "/resource-types",
        json={"id": kind, "name": "Conference Room", "category": category, "fields": ROOM_FIELDS},
    )
    assert made.status_code == 201, made.text
    return kind


def create_resource(rmp: Rmp, kind: str, name: str, **custom: Any) -> dict[str, Any]:
    made = rmp.post(
        "/resources",
        json={
            "name": name,
            "type": kind,
            "category": "meeting-resources",
            "customFields": {"capacity": 10, **custom},
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["success"] is True
    return body["resource"]  # type: ignore[no-any-return]


def import_room_type(rmp: Rmp, prefix: str = "imp") -> str:
    """A new room type for import tests: a required capacity and a floor, 1st or 2nd."""
    kind = unique(prefix)
    made = rmp.post(
        "/resource-types",
        json={
            "id": kind,
            "name": "Import room",
            "category": "meeting-resources",
            "fields": [
                {"name": "capacity", "type": "number", "required": True},
                {"name": "floor", "type": "select", "options": ["1st", "2nd"]},
            ],
        },
    )
    assert made.status_code == 201, made.text
    return kind


def rooms_csv(kind: str, rows: int, bad: frozenset[int] = frozenset()) -> bytes:
    """`rows` rooms of `kind` as an import file; those numbered in `bad` (from 0) on a
    floor the type has not."""
    lines = ["name,type,capacity,floor"]
    lines += [f"Room {n},{kind},4,{'9th' if n in bad else '1st'}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()
