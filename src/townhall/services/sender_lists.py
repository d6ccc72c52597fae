"""A person's black and white lists of senders, and what a pattern on them means.

Patterns are kept lower-case, as given otherwise. `*` stands for any run of characters
(nothing else is special). A pattern with an `@` is matched against the whole sender
address (`spammer@bad.test`, `*@bad.test`, `news-*@*.example`). A bare domain such as
`bad.test` means `*@bad.test` (**decision**): it is stored as given, so a list reads
back as it was written, and matched as if it were `*@bad.test`; it does not reach
`x@sub.bad.test` (`*.bad.test` does). So every pattern needs an `@` in the sender, and
the null sender of bounces (`<>`) is never on a list. Matching ignores case.

A black-listed sender is refused for that person; a white-listed one is accepted even
when a black-list pattern matches too (`MailRoutingService` applies this). Admins of
the tenant keep anyone's lists, a person their own. Each change is one unit of work
that locks the person's row, so two requests adding to one list cannot both pass its
bound; one that changes nothing records nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from townhall.domain import names
from townhall.domain.errors import Forbidden, Invalid, NotFound, QuotaExceeded
from townhall.domain.principal import Principal
from townhall.services.base import Service, Work
from townhall.services.people import Who
from townhall.store import mail as store
from townhall.store import people as people_store
from townhall.store.database import Tx

LISTS = ("black", "white")
MAX_PATTERN = 254
MAX_PATTERNS = 1000
"""Patterns one list may hold: each is read whenever mail reaches its owner."""

_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+"
_HOST = r"[a-z0-9*.-]+"
_PATTERN = re.compile(rf"(?:{_LOCAL}@)?{_HOST}")


def pattern(value: str, field: str = "pattern") -> str:
    """A sender pattern as stored: trimmed, lower-case, an address or a domain whose
    characters may include `*`."""
    folded = value.strip().lower()
    if not folded:
        raise Invalid(field, "must not be empty")
    if len(folded) > MAX_PATTERN:
        raise Invalid(field, f"is longer than {MAX_PATTERN} characters")
    if not _PATTERN.fullmatch(folded):
        raise Invalid(field, "is not an address or a domain (`*` may stand for any text)")
    return folded


def matches(stored: str, sender: str) -> bool:
    """Whether a stored pattern matches the sender address (a bare domain is `*@domain`)."""
    full = stored if "@" in stored else f"*@{stored}"
    return _wildcard(full).fullmatch(sender.strip().lower()) is not None


@lru_cache(maxsize=4096)
def _wildcard(text: str) -> re.Pattern[str]:
    """`*` as any run of characters; everything else literal."""
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


class SenderListService(Service):
    async def patterns(self, actor: Principal, who: Who, which: str) -> list[str]:
        """The person's list, sorted."""
        listed = _list(which)
        async with self.db.read() as tx:
            user_id = await self._person(tx, actor, who)
            return await store.patterns(tx, user_id, listed)

    async def matching(self, actor: Principal, who: Who, which: str, wanted: str) -> list[str]:
        """The patterns of the list that `wanted` (a `*` wildcard filter over the stored
        patterns themselves, not over senders) matches, sorted."""
        listed = _list(which)
        found = _wildcard(pattern(wanted, "filter"))
        return [p for p in await self.patterns(actor, who, listed) if found.fullmatch(p)]

    async def add(self, actor: Principal, who: Who, which: str, value: str) -> bool:
        """Put the pattern on the list; False if it was there already."""
        listed, stored = _list(which), pattern(value)
        async with self.unit(actor) as work:
            user_id = await self._person(work, actor, who)
            username = await self._lock(work, actor, user_id)
            if await store.has_pattern(work, user_id, listed, stored):
                return False
            if await store.count_patterns(work, user_id, listed) >= MAX_PATTERNS:
                raise QuotaExceeded(
                    "sender_rule", username, f"a list holds at most {MAX_PATTERNS} patterns"
                )
            await store.add_pattern(work, user_id, listed, stored, self.clock.now())
            await _render(work, user_id)
            _record(work, "mail.sender_rule.added", username, listed, stored)
        return True

    async def remove(self, actor: Principal, who: Who, which: str, value: str) -> None:
        """Take the pattern off the list (as written when it was added)."""
        listed, stored = _list(which), pattern(value)
        async with self.unit(actor) as work:
            user_id = await self._person(work, actor, who)
            username = await self._lock(work, actor, user_id)
            if not await store.delete_patterns(work, user_id, listed, stored):
                raise NotFound("sender_rule", stored, f"{stored} is not on the {listed} list")
            await _render(work, user_id)
            _record(work, "mail.sender_rule.removed", username, listed, stored)

    async def clear(self, actor: Principal, who: Who, which: str) -> list[str]:
        """Empty the list; the patterns it held."""
        listed = _list(which)
        async with self.unit(actor) as work:
            user_id = await self._person(work, actor, who)
            username = await self._lock(work, actor, user_id)
            gone = await store.patterns(work, user_id, listed)
            await store.delete_patterns(work, user_id, listed)
            if gone:
                await _render(work, user_id)
            for stored in gone:
                _record(work, "mail.sender_rule.removed", username, listed, stored)
        return gone

    async def _person(self, tx: Tx, actor: Principal, who: Who) -> int:
        """The person's id, once the actor may keep their lists: an admin of the tenant
        anyone's, a person their own. Others are refused before learning who exists."""
        if isinstance(who, int):
            user_id: int | None = who
            if not (await people_store.by_ids(tx, actor.tenant_id, [who])):
                user_id = None
        else:
            user_id = await people_store.find_id(tx, actor.tenant_id, names.node(who, "username"))
        if not actor.is_admin and (user_id is None or user_id != actor.user_id):
            raise Forbidden("sender_rule", str(who), "only an administrator or the person")
        if user_id is None:
            raise NotFound("user", str(who))
        return user_id

    async def _lock(self, tx: Tx, actor: Principal, user_id: int) -> str:
        """Lock the person's row for this unit of work; their username."""
        person = await people_store.lock_row(tx, actor.tenant_id, user_id)
        if person is None:  # deleted since it was looked up
            raise NotFound("user", str(user_id))
        return person.username


SIEVE_NAME = "townhall-senders"
"""The before-script's name, as Dovecot's `sieve_before = dict:...;name=` asks for it."""


def sieve_script(black: list[str], white: list[str]) -> str | None:
    """The Sieve before-script that applies a person's lists where the routing core's
    RCPT-time refusal cannot: to mail that reached them through a forward whose other
    recipients accept it (Postfix expands forwards after the policy service answered).
    The same rules as `matches`: a black-listed sender is discarded unless white-listed
    too; Sieve's `:matches` with the default case-insensitive comparator reads `*` as
    `matches` does, and a literal `?` is escaped. None: nothing to refuse."""
    if not black:
        return None

    def strings(patterns: list[str]) -> str:
        full = [p if "@" in p else f"*@{p}" for p in patterns]
        return ", ".join('"' + p.replace("?", "\\\\?") + '"' for p in full)

    refused = f'envelope :all :matches "from" [{strings(black)}]'
    if white:
        refused = f'allof ({refused},\n    not envelope :all :matches "from" [{strings(white)}])'
    return (
        "# Rendered by Townhall from the person's sender lists; changes are overwritten.\n"
        'require ["envelope"];\n'
        f"if {refused} {{\n  discard;\n  stop;\n}}\n"
    )


async def _render(tx: Tx, user_id: int) -> None:
    """Keep the person's before-script in step with their lists (in the same unit of
    work, so Dovecot never runs a script the lists no longer say)."""
    rules = (await store.rules_of(tx, [user_id])).get(user_id, {})
    script = sieve_script(sorted(rules.get("black", [])), sorted(rules.get("white", [])))
    await store.save_sieve(tx, user_id, SIEVE_NAME, script)


def _list(which: str) -> str:
    if which not in LISTS:
        raise Invalid("list", "must be black or white")
    return which


def _record(work: Work, action: str, username: str, listed: str, stored: str) -> None:
    work.record(action, username, {"list": listed, "pattern": stored}, f"{listed} list: {stored}")
