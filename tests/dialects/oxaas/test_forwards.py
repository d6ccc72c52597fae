"""OX forwards: aliases of a context and their recipients, by context id or name."""

from __future__ import annotations

import pytest

from tests.conftest import RunningServer, unique
from tests.helpers.ox import context_admin, refused


@pytest.mark.parametrize("context", ["1", "example.org"])
def test_a_forward_is_made_grown_read_and_removed(server: RunningServer, context: str) -> None:
    ox = context_admin(server)
    alias = f"{unique('sales')}@example.org"
    path = f"/admin/forwards/{context}/{alias}"
    assert ox.head(path).status_code == 404
    made = ox.put(path, json={"recipient": "alice@example.org"})
    assert made.status_code == 200 and made.json() is None
    assert ox.head(path).status_code == 200
    grown = ox.post(path, json=["bob@example.org", "carol@elsewhere.test"])
    assert grown.status_code == 201, grown.text
    assert ox.get(path).json() == ["alice@example.org", "bob@example.org", "carol@elsewhere.test"]
    assert ox.head(f"{path}/bob@example.org").status_code == 200
    assert ox.delete(f"{path}/bob@example.org").status_code == 200
    assert ox.head(f"{path}/bob@example.org").status_code == 404
    assert ox.get(f"/admin/forwards/{context}").json()[alias] == [
        "alice@example.org",
        "carol@elsewhere.test",
    ]
    replaced = ox.put(path, json={"recipient": ["dave@example.org"]})
    assert replaced.status_code == 200
    assert ox.get(path).json() == ["dave@example.org"]
    assert ox.delete(path).status_code == 200
    refused(ox.get(path), 404, alias)


def test_bad_forwards_are_refused_naming_what_is_wrong(server: RunningServer) -> None:
    ox = context_admin(server)
    alias = f"{unique('x')}@example.org"
    refused(ox.put(f"/admin/forwards/1/{alias}", json={}), 400, "recipient")
    refused(ox.put(f"/admin/forwards/1/{alias}", json={"recipient": "not an address"}), 400)
    refused(ox.put("/admin/forwards/1/someone@not-ours.test", json={"recipient": "a@b.test"}), 400)
    refused(ox.get("/admin/forwards/99999"), 404, "context")
    refused(ox.delete(f"/admin/forwards/1/{alias}"), 404)


def test_every_forward_of_a_context_can_go_at_once(server: RunningServer) -> None:
    ox = context_admin(server)
    for _ in range(2):
        assert ox.put(f"/admin/forwards/1/{unique('a')}@example.org", json=["z@example.org"]).ok
    assert ox.delete("/admin/forwards/1").status_code == 200
    assert ox.get("/admin/forwards/1").json() == {}
