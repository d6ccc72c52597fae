"""resolve(): where mail for one recipient goes, after forwards and the owners' lists."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import unique
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.mail_routing import MAX_FINAL
from townhall.services.people import NewPerson
from townhall.services.tenants import NewTenant

SPAMMER = "spammer@bad.test"


@dataclass
class Org:
    admin: Principal
    domain: str

    def at(self, local: str) -> str:
        return f"{local}@{self.domain}"


async def _org(services: Services) -> Org:
    operator = Principal.system(await services.tenants.first(), "tester")
    domain = f"{unique('route')}.test"
    created = await services.tenants.create(operator, NewTenant(domain))
    return Org(Principal.system(created.tenant, "tester"), domain)


async def _mailbox(services: Services, org: Org, local: str, email: str | None = None) -> int:
    """A person whose e-mail is `local@domain` (or `email`); their id."""
    person = await services.people.create(
        org.admin, NewPerson(unique(local), "password-1", email=email or org.at(local))
    )
    return person.id


async def test_a_direct_recipient_who_black_lists_the_sender_refuses(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    await services.sender_lists.add(org.admin, alice, "black", SPAMMER)
    route = await services.mail_routing.resolve(f"<{org.at('Alice')}>", "<Spammer@Bad.test>")
    assert not route.accepted
    assert route.smtp.startswith("550 5.7.1 ")
    assert route.refused == (
        (org.at("alice"), "sender <spammer@bad.test> is refused by the recipient"),
    )
    assert route.mailboxes == ()
    fine = await services.mail_routing.resolve(org.at("alice"), "friend@good.test")
    assert fine.accepted and fine.smtp.startswith("250 2.1.5 ")
    assert fine.mailboxes == ((alice, org.at("alice")),)


async def test_a_bare_domain_on_the_black_list_refuses_its_senders(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    await services.sender_lists.add(org.admin, alice, "black", "Bad.Test")
    assert not (await services.mail_routing.resolve(org.at("alice"), "anyone@BAD.test")).accepted
    assert (await services.mail_routing.resolve(org.at("alice"), "x@sub.bad.test")).accepted
    assert (await services.mail_routing.resolve(org.at("alice"), "")).accepted  # a bounce


async def test_an_alias_reaches_the_owner_who_does_not_refuse(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    bob = await _mailbox(services, org, "bob")
    await services.forwards.replace(org.admin, org.at("sales"), [org.at("alice"), org.at("bob")])
    await services.sender_lists.add(org.admin, alice, "black", "*@bad.test")
    route = await services.mail_routing.resolve(org.at("sales"), SPAMMER)
    assert route.accepted
    assert route.mailboxes == ((bob, org.at("bob")),)
    assert [address for address, _ in route.refused] == [org.at("alice")]
    await services.sender_lists.add(org.admin, bob, "black", SPAMMER)
    both = await services.mail_routing.resolve(org.at("sales"), SPAMMER)
    assert not both.accepted and both.code == 550 and both.reply.startswith("5.7.1 ")
    assert sorted(address for address, _ in both.refused) == [org.at("alice"), org.at("bob")]


async def test_the_white_list_beats_the_black_list(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    await services.sender_lists.add(org.admin, alice, "black", "bad.test")
    await services.sender_lists.add(org.admin, alice, "white", "friend@bad.test")
    route = await services.mail_routing.resolve(org.at("alice"), "Friend@bad.test")
    assert route.accepted
    assert route.mailboxes == ((alice, org.at("alice")),)
    assert route.whitelisted == (org.at("alice"),)
    assert route.refused == ()
    other = await services.mail_routing.resolve(org.at("alice"), "foe@bad.test")
    assert not other.accepted and other.whitelisted == ()


async def test_forward_loops_end(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    bob = await _mailbox(services, org, "bob")
    await services.forwards.replace(org.admin, org.at("a"), [org.at("b"), org.at("alice")])
    await services.forwards.replace(org.admin, org.at("b"), [org.at("a"), org.at("bob")])
    route = await services.mail_routing.resolve(org.at("a"), "x@y.test")
    assert route.accepted
    assert sorted(route.mailboxes) == sorted([(alice, org.at("alice")), (bob, org.at("bob"))])
    await services.forwards.replace(org.admin, org.at("c"), [org.at("d")])
    await services.forwards.replace(org.admin, org.at("d"), [org.at("c")])
    loop = await services.mail_routing.resolve(org.at("c"), "x@y.test")
    assert not loop.accepted and loop.smtp.startswith("550 5.4.6 ")
    assert loop.mailboxes == () and loop.external == ()


async def test_an_alias_naming_itself_keeps_its_mailbox(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    bob = await _mailbox(services, org, "bob")
    await services.forwards.replace(org.admin, org.at("alice"), [org.at("bob")])
    only_bob = await services.mail_routing.resolve(org.at("alice"), "x@y.test")
    assert only_bob.mailboxes == ((bob, org.at("bob")),)
    await services.forwards.add(org.admin, org.at("alice"), [org.at("alice")])
    both = await services.mail_routing.resolve(org.at("alice"), "x@y.test")
    assert sorted(both.mailboxes) == sorted([(alice, org.at("alice")), (bob, org.at("bob"))])


async def test_forwards_are_followed_five_levels_deep_and_no_deeper(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    chain = [org.at(f"hop{i}") for i in range(6)]
    for here, there in zip(chain, [*chain[1:], org.at("alice")], strict=True):
        await services.forwards.replace(org.admin, here, [there])
    five = await services.mail_routing.resolve(chain[1], "x@y.test")
    assert five.accepted and five.mailboxes == ((alice, org.at("alice")),)
    six = await services.mail_routing.resolve(chain[0], "x@y.test")
    assert not six.accepted
    assert six.smtp.startswith("550 5.4.6 ")
    assert six.dropped == (chain[5],)
    assert six.mailboxes == ()


async def test_fan_out_is_bounded(services: Services) -> None:
    org = await _org(services)
    teams = [org.at(f"team{i}") for i in range(MAX_FINAL)]
    await services.forwards.replace(org.admin, org.at("all"), teams)
    for i, team in enumerate(teams):
        await services.forwards.replace(
            org.admin, team, [f"m{i}a@partner.example", f"m{i}b@partner.example"]
        )
    route = await services.mail_routing.resolve(org.at("all"), "x@y.test")
    assert route.accepted
    assert len(route.external) == MAX_FINAL
    assert route.external[:3] == (
        "m0a@partner.example",
        "m0b@partner.example",
        "m1a@partner.example",
    )
    assert len(route.dropped) == MAX_FINAL
    assert set(route.external).isdisjoint(route.dropped)


async def test_external_recipients_are_relayed_without_lists(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    await services.sender_lists.add(org.admin, alice, "black", SPAMMER)
    await services.forwards.replace(org.admin, org.at("out"), ["Partner@Elsewhere.example"])
    route = await services.mail_routing.resolve(org.at("out"), SPAMMER)
    assert route.accepted
    assert route.external == ("partner@elsewhere.example",)
    assert route.mailboxes == () and route.refused == ()
    await services.forwards.add(org.admin, org.at("out"), [org.at("alice")])
    mixed = await services.mail_routing.resolve(org.at("out"), SPAMMER)
    assert mixed.accepted and mixed.mailboxes == ()
    assert mixed.refused[0][0] == org.at("alice")


async def test_an_address_nobody_holds_is_an_unknown_user(services: Services) -> None:
    org = await _org(services)
    alice = await _mailbox(services, org, "alice")
    route = await services.mail_routing.resolve(org.at("nobody"), "x@y.test")
    assert not route.accepted
    assert route.smtp.startswith("550 5.1.1 ")
    await services.forwards.replace(org.admin, org.at("mixed"), [org.at("ghost"), org.at("alice")])
    partly = await services.mail_routing.resolve(org.at("mixed"), "x@y.test")
    assert partly.accepted
    assert partly.mailboxes == ((alice, org.at("alice")),)
    assert partly.unknown == (org.at("ghost"),)


async def test_a_domain_not_hosted_here_is_refused(services: Services) -> None:
    route = await services.mail_routing.resolve("someone@not-hosted.example", "x@y.test")
    assert not route.accepted
    assert route.smtp.startswith("550 5.1.2 ")
    bad = await services.mail_routing.resolve("not an address", "x@y.test")
    assert not bad.accepted and bad.code == 553


async def test_addresses_route_within_the_tenant_holding_their_domain(services: Services) -> None:
    ours, theirs = await _org(services), await _org(services)
    carol = await _mailbox(services, theirs, "carol")
    await _mailbox(services, ours, "mallory", email=theirs.at("boss"))
    stolen = await services.mail_routing.resolve(theirs.at("boss"), "x@y.test")
    assert not stolen.accepted and stolen.smtp.startswith("550 5.1.1 ")
    await services.forwards.replace(ours.admin, ours.at("partners"), [theirs.at("carol")])
    route = await services.mail_routing.resolve(ours.at("partners"), "x@y.test")
    assert route.mailboxes == ((carol, theirs.at("carol")),)
    assert route.external == ()
