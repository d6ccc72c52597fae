"""RMP `/search`: ranking, types, limits, who sees which bookings, validation.

HTTP tests run against a running server (both databases); the scoring functions of the
search service are also checked directly, without a database.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import RunningServer, unique
from tests.helpers.rmp import DOMAIN, Rmp, admin, at, book, create_resource, person, refused
from townhall.domain.errors import Invalid
from townhall.services.search import MAX_LIMIT, SearchQuery, check, quality, relevance


def _token() -> str:
    """A word no other name contains (the trailing letter keeps `x1k` out of `x10k`)."""
    return unique("zq") + "k"


def _kind(rmp: Rmp) -> str:
    kind = unique("find-type")
    made = rmp.post(
        "/resource-types",
        json={
            "id": kind,
            "name": "Searchable",
            "category": "meeting-resources",
            "fields": [
                {"name": "capacity", "type": "number", "required": True},
                {"name": "wing", "type": "text"},
            ],
        },
    )
    assert made.status_code == 201, made.text
    return kind


def _resource(rmp: Rmp, kind: str, name: str, **custom: Any) -> str:
    return str(create_resource(rmp, kind, name, capacity=4, **custom)["id"])


def _user(rmp: Rmp, local: str, real_name: str) -> str:
    email = f"{local}@{DOMAIN}"
    made = rmp.post("/users", json={"email": email, "password": "pw-123456", "realName": real_name})
    assert made.status_code == 201, made.text
    return email


def _search(rmp: Rmp, query: str, **extra: Any) -> dict[str, Any]:
    answer = rmp.post("/search", json={"query": query, **extra})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    return body["results"]  # type: ignore[no-any-return]


def _scores_are_sorted(hits: list[dict[str, Any]]) -> None:
    scores = [hit["score"] for hit in hits]
    assert all(isinstance(s, float | int) and 0 < s <= 1 for s in scores), scores
    assert scores == sorted(scores, reverse=True), scores


# --- pure scoring -------------------------------------------------------------------


def test_quality_bands() -> None:
    assert quality("room", "Room") == 1.0
    assert quality("room", "  ROOM ") == 1.0
    prefix = quality("room", "Room 01")
    word = quality("room", "Big Room")
    inner = quality("room", "Bigroom")
    assert 0.8 < prefix < 0.9
    assert 0.6 < word < 0.7
    assert 0.4 < inner < 0.5
    assert quality("room", "Hall") == 0.0
    assert quality("", "Room") == 0.0
    assert quality("room", "") == 0.0


def test_quality_rewards_covering_more_of_the_field() -> None:
    assert quality("room", "Room 1") > quality("room", "Room 12345")
    assert quality("room", "A room") > quality("room", "A very long room")
    # Punctuation and underscores separate words; letters and digits join them.
    assert 0.6 < quality("room", "big-room") < 0.7
    assert 0.6 < quality("room", "big_room") < 0.7
    assert 0.4 < quality("room", "big2room") < 0.5


def test_relevance_takes_the_best_weighted_field() -> None:
    best = round(quality("room", "Room 1"), 2)
    assert relevance("room", [("Room", 0.5), ("Room 1", 1.0)]) == best
    assert relevance("room", [("Room", 0.5), ("Hall", 1.0)]) == 0.5
    assert relevance("room", [("Hall", 1.0)]) == 0.0
    assert relevance("room", []) == 0.0
    score = relevance("room", [("Room 1", 1.0)])
    assert score == round(score, 2)


def test_check_trims_lowers_and_refuses_naming_the_field() -> None:
    assert check(SearchQuery("  Room ")) == "room"

    def field(query: SearchQuery) -> str:
        with pytest.raises(Invalid) as refused_:
            check(query)
        return refused_.value.field

    assert field(SearchQuery("   ")) == "query"
    assert field(SearchQuery("x" * 201)) == "query"
    assert field(SearchQuery("a\x00b")) == "query"
    assert field(SearchQuery("room", ("rooms",))) == "types"
    assert field(SearchQuery("room", ())) == "types"
    assert field(SearchQuery("room", limit=0)) == "limit"
    assert field(SearchQuery("room", limit=MAX_LIMIT + 1)) == "limit"
    assert check(SearchQuery("room", ("users",), MAX_LIMIT)) == "room"


# --- over HTTP ----------------------------------------------------------------------


def test_exact_ranks_above_prefix_above_word_above_substring(server: RunningServer) -> None:
    rmp = admin(server)
    kind, token = _kind(rmp), _token()
    inner = _resource(rmp, kind, f"North{token}")
    word = _resource(rmp, kind, f"North {token}")
    prefix = _resource(rmp, kind, f"{token} North")
    exact = _resource(rmp, kind, token.upper())
    found = _search(rmp, token, types=["resources"])
    assert set(found) == {"resources"}
    hits = found["resources"]
    assert [h["id"] for h in hits] == [exact, prefix, word, inner]
    _scores_are_sorted(hits)
    assert hits[0] == {"id": exact, "name": token.upper(), "type": kind, "score": 1.0}
    assert 0.8 <= hits[1]["score"] <= 0.9
    assert 0.6 <= hits[2]["score"] <= 0.7
    assert 0.4 <= hits[3]["score"] <= 0.5
    # The query is trimmed and case does not matter.
    assert _search(rmp, f"  {token.upper()} ", types=["resources"])["resources"] == hits


def test_descriptive_fields_count_half(server: RunningServer) -> None:
    rmp = admin(server)
    kind, token = _kind(rmp), _token()
    by_name = _resource(rmp, kind, f"{token} Hall")
    by_field = _resource(rmp, kind, unique("Plain "), wing=token)
    hits = _search(rmp, token, types=["resources"])["resources"]
    assert [h["id"] for h in hits] == [by_name, by_field]
    assert hits[1]["score"] == 0.5  # an exact match, in a custom field


def test_types_pick_the_lists_and_limit_caps_each(server: RunningServer) -> None:
    rmp = admin(server)
    kind, token = _kind(rmp), _token()
    rooms = [_resource(rmp, kind, f"{token} Room {n}") for n in range(3)]
    people = [_user(rmp, f"{token}{n}", f"Person {n}") for n in range(3)]
    everything = _search(rmp, token)
    assert set(everything) == {"resources", "users", "bookings"}
    assert sorted(h["id"] for h in everything["resources"]) == sorted(rooms)
    assert sorted(h["email"] for h in everything["users"]) == sorted(people)
    assert everything["bookings"] == []
    only = _search(rmp, token, types=["users"])
    assert set(only) == {"users"} and only["users"] == everything["users"]
    capped = _search(rmp, token, limit=2)
    assert len(capped["resources"]) == 2 and len(capped["users"]) == 2
    assert capped["resources"] == everything["resources"][:2]
    assert capped["users"] == everything["users"][:2]


def test_users_are_found_by_name_and_by_email(server: RunningServer) -> None:
    rmp = admin(server)
    token = _token()
    named = _user(rmp, unique("plain"), f"Ada {token}")
    addressed = _user(rmp, token, "Someone Else")
    by_name = _search(rmp, f"ada {token}", types=["users"])["users"]
    assert by_name == [{"email": named, "realName": f"Ada {token}", "score": 1.0}]
    by_email = _search(rmp, addressed, types=["users"])["users"]
    assert by_email == [{"email": addressed, "realName": "Someone Else", "score": 1.0}]
    both = _search(rmp, token, types=["users"])["users"]
    assert [u["email"] for u in both] == [addressed, named]  # exact username first
    _scores_are_sorted(both)
    # Any signed-in person may find people, as they may list them.
    someone, _ = person(server)
    assert _search(someone, token, types=["users"])["users"] == both


def test_people_find_their_own_bookings_and_admins_all(server: RunningServer) -> None:
    rmp = admin(server)
    resource = _resource(rmp, _kind(rmp), unique("Booked "))
    token = _token()
    ann, ann_email = person(server)
    bob, _ = person(server)
    carol, _ = person(server)
    mine = book(ann, resource, at(9, day=3), at(10, day=3), title=f"Ann {token}")
    theirs = book(bob, resource, at(11, day=3), at(12, day=3), title=f"Bob {token}")
    invited = book(
        carol, resource, at(13, day=3), at(14, day=3), title=f"Carol {token}", attendees=[ann_email]
    )
    for made in (mine, theirs, invited):
        assert made.status_code == 201, made.text
    mine_id, theirs_id = mine.json()["booking"]["id"], theirs.json()["booking"]["id"]
    invited_id = invited.json()["booking"]["id"]

    seen_by_ann = _search(ann, token, types=["bookings"])["bookings"]
    assert sorted(b["id"] for b in seen_by_ann) == sorted([mine_id, invited_id])
    hers = next(b for b in seen_by_ann if b["id"] == mine_id)
    assert hers["title"] == f"Ann {token}" and hers["startTime"] == at(9, day=3)
    assert 0.6 <= hers["score"] <= 0.7  # a word of the title
    seen_by_bob = _search(bob, token, types=["bookings"])["bookings"]
    assert [b["id"] for b in seen_by_bob] == [theirs_id]
    seen_by_admin = _search(rmp, token, types=["bookings"])["bookings"]
    assert sorted(b["id"] for b in seen_by_admin) == sorted([mine_id, theirs_id, invited_id])
    _scores_are_sorted(seen_by_admin)
    # A booking is found by its id (exactly), not by someone who may not see it.
    assert _search(rmp, theirs_id, types=["bookings"])["bookings"][0]["score"] == 1.0
    assert _search(ann, theirs_id, types=["bookings"])["bookings"] == []
    # Cancelled bookings are not found.
    cancelled = ann.delete(f"/bookings/{mine_id}", params={"sendCancellation": "false"})
    assert cancelled.status_code == 200, cancelled.text
    after = _search(ann, token, types=["bookings"])["bookings"]
    assert [b["id"] for b in after] == [invited_id]


def test_a_domain_admin_finds_the_bookings_of_its_resources(server: RunningServer) -> None:
    rmp = admin(server)
    kind = _kind(rmp)
    domain = f"{kind}.resources.{DOMAIN}"
    boss_email = _user(rmp, unique("boss"), "Boss")
    made = rmp.post(
        "/domains", json={"domain": domain, "type": "resource-subdomain", "adminEmail": boss_email}
    )
    assert made.status_code == 201, made.text
    boss = Rmp(server).login(boss_email, "pw-123456")
    inside = _resource(rmp, kind, unique("Inside "))
    outside = _resource(rmp, _kind(rmp), unique("Outside "))
    assert inside.endswith("@" + domain) and not outside.endswith("@" + domain)
    token = _token()
    bob, _ = person(server)
    theirs_inside = book(bob, inside, at(9, day=4), at(10, day=4), title=token)
    theirs_outside = book(bob, outside, at(9, day=4), at(10, day=4), title=token)
    own_outside = book(boss, outside, at(11, day=4), at(12, day=4), title=token)
    for made in (theirs_inside, theirs_outside, own_outside):
        assert made.status_code == 201, made.text
    found = _search(boss, token, types=["bookings"])["bookings"]
    expected = [theirs_inside.json()["booking"]["id"], own_outside.json()["booking"]["id"]]
    assert sorted(b["id"] for b in found) == sorted(expected)


def test_non_ascii_text_is_found_on_every_database(server: RunningServer) -> None:
    rmp = admin(server)
    kind, token = _kind(rmp), _token()
    named = _resource(rmp, kind, f"Ärzte {token}")
    winged = _resource(rmp, kind, unique("Plain "), wing=f"Flügel {token}")
    by_name = _search(rmp, f"ärzte {token}", types=["resources"])["resources"]
    assert [(h["id"], h["score"]) for h in by_name] == [(named, 1.0)]
    by_field = _search(rmp, f"FLÜGEL {token}", types=["resources"])["resources"]
    assert [(h["id"], h["score"]) for h in by_field] == [(winged, 0.5)]
    person_ = _user(rmp, unique("emile"), f"Émile {token}")
    found = _search(rmp, f"émile {token}", types=["users"])["users"]
    assert [u["email"] for u in found] == [person_]
    # A wildcard stands only for a non-ASCII character: no false hit survives scoring.
    assert _search(rmp, f"xrzte {token}", types=["resources"])["resources"] == []


def test_an_invitation_in_another_case_still_counts(server: RunningServer) -> None:
    rmp = admin(server)
    resource = _resource(rmp, _kind(rmp), unique("Invited "))
    token = _token()
    ann, ann_email = person(server)
    bob, _ = person(server)
    made = book(
        bob, resource, at(15, day=3), at(16, day=3), title=token, attendees=[ann_email.upper()]
    )
    assert made.status_code == 201, made.text
    found = _search(ann, token, types=["bookings"])["bookings"]
    assert [b["id"] for b in found] == [made.json()["booking"]["id"]]


def test_bad_requests_name_the_field(server: RunningServer) -> None:
    rmp = admin(server)
    refused(rmp.post("/search", json={"query": ""}), 400, "query")
    refused(rmp.post("/search", json={"query": "   "}), 400, "query")
    refused(rmp.post("/search", json={}), 400, "query")
    refused(rmp.post("/search", json={"query": 5}), 400, "query")
    refused(rmp.post("/search", json={"query": "x" * 201}), 400, "query")
    refused(rmp.post("/search", json={"query": "a\x00b"}), 400, "query")
    refused(rmp.post("/search", json={"query": "room", "types": ["rooms"]}), 400, "types")
    refused(rmp.post("/search", json={"query": "room", "types": []}), 400, "types")
    refused(rmp.post("/search", json={"query": "room", "types": "users"}), 400, "types")
    refused(rmp.post("/search", json={"query": "room", "limit": 0}), 400, "limit")
    refused(rmp.post("/search", json={"query": "room", "limit": 101}), 400, "limit")
    refused(rmp.post("/search", json={"query": "room", "limit": "5"}), 400, "limit")
    refused(rmp.post("/search", json={"query": "room", "limit": True}), 400, "limit")
    refused(rmp.post("/search", data=b"{not json", headers=_JSON), 400, "body")
    refused(rmp.post("/search", json=["room"]), 400)
    assert len(_search(rmp, "a", limit=MAX_LIMIT)) == 3


_JSON = {"Content-Type": "application/json"}


def test_search_needs_a_token(server: RunningServer) -> None:
    anonymous = requests.post(f"{server.url}/api/v2/search", json={"query": "room"})
    refused(anonymous, 401)
    bad = requests.post(
        f"{server.url}/api/v2/search",
        json={"query": "room"},
        headers={"Authorization": "Bearer nonsense"},
    )
    refused(bad, 401)
