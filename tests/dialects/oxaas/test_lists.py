"""OX black and white lists of a person, and what the mail routing core makes of them."""

from __future__ import annotations

from tests.conftest import RunningServer
from tests.helpers.ox import context_admin, new_person, refused
from townhall.services.container import Services


async def test_lists_are_kept_filtered_and_applied_to_mail(
    server: RunningServer, services: Services
) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    user = f"/admin/contexts/1/users/{uid}"
    assert ox.get(f"{user}/blacklist").json() == {"blacklist": []}
    assert ox.put(f"{user}/blacklist/spammer@bad.test").json() == {
        "blacklist": ["spammer@bad.test"]
    }
    assert ox.put(f"{user}/blacklist/junk.test").json() == {
        "blacklist": ["junk.test", "spammer@bad.test"]
    }
    assert ox.get(f"{user}/blacklist/*bad*").json() == {"blacklist": ["spammer@bad.test"]}
    assert ox.put(f"{user}/whitelist/boss@junk.test").status_code == 200
    refused_mail = await services.mail_routing.resolve(f"{name}@example.org", "spammer@bad.test")
    assert refused_mail.code == 550 and refused_mail.reply.startswith("5.7.1")
    domain_wide = await services.mail_routing.resolve(f"{name}@example.org", "x@junk.test")
    assert not domain_wide.accepted
    boss = await services.mail_routing.resolve(f"{name}@example.org", "boss@junk.test")
    assert boss.accepted and boss.whitelisted == (f"{name}@example.org",)
    assert ox.delete(f"{user}/blacklist/junk.test").json() == {"blacklist": ["spammer@bad.test"]}
    assert (await services.mail_routing.resolve(f"{name}@example.org", "x@junk.test")).accepted
    refused(ox.delete(f"{user}/blacklist/never@added.test"), 404)
    assert ox.delete(f"{user}/blacklist").json() == {"blacklist": []}
    assert ox.get(f"{user}/whitelist").json() == {"whitelist": ["boss@junk.test"]}


def test_the_context_admin_has_no_lists(server: RunningServer) -> None:
    ox = context_admin(server)
    admin = ox.get("/admin/contexts/1/users", params={"uids": "admin"}).json()["admin"]
    refused(ox.get(f"/admin/contexts/1/users/{admin['user-id']}/blacklist"), 400, "no mailbox")
