"""`/mail/{uid}...`: a mailbox's counters, read with the brand's mail-read credential
(tennantAuth).

`{uid}` is the mailbox address (the person's e-mail, any case): one credential reads
the mailboxes of every context of its brand and the brands below it, where a uid name
alone would be ambiguous. The counters are the mailbox service's (its definitions are
in docs/ox-mapping.md); this module only spells them as OX-style JSON: camelCase keys,
times in epoch milliseconds as OX's HTTP API gives them.

- `GET /mail/{uid}`: everything below in one document.
- `.../newmessages`: `{"newmessages": n, "lastLogin": ms|null}`.
- `.../quota`: `{"mailQuota": {"used", "limit" (0 = unlimited), "messages"}}`.
- `.../recentmails`: `{"recentmails": [{"uid", "from", "subject", "date", "size", "seen"}]}`.
- `.../unread`: `{"unread": n}` (every folder); `.../unread/inbox`: `{"unreadInbox": n}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypedDict

from litestar import Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from townhall.domain.principal import Principal
from townhall.infrastructure.mailstore import MailSummary
from townhall.services.mailboxes import MailboxCounters, MailboxService

from ..documents import wire
from .http import ok, tennant

Recent = TypedDict(
    "Recent",
    {"uid": int, "from": str, "subject": str, "date": int, "size": int, "seen": bool},
)


class MailQuota(TypedDict):
    used: int
    """Bytes stored, every folder."""
    limit: int
    """Bytes allowed; 0: no limit."""
    messages: int
    """Messages in INBOX."""


class NewMessages(TypedDict):
    newmessages: int
    lastLogin: int | None


class QuotaAnswer(TypedDict):
    mailQuota: MailQuota


class RecentAnswer(TypedDict):
    recentmails: list[Recent]


class Unread(TypedDict):
    unread: int


class UnreadInbox(TypedDict):
    unreadInbox: int


class MailAnswer(TypedDict):
    uid: str
    newmessages: int
    lastLogin: int | None
    unread: int
    unreadInbox: int
    recentmails: list[Recent]
    mailQuota: MailQuota


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _recent(summary: MailSummary) -> Recent:
    return {
        "uid": summary.uid,
        "from": summary.sender,
        "subject": summary.subject,
        "date": _ms(summary.received) or 0,
        "size": summary.size,
        "seen": summary.seen,
    }


def everything(found: MailboxCounters) -> MailAnswer:
    counted = found.counters
    return {
        "uid": found.mailbox.address,
        "newmessages": counted.new_since_login,
        "lastLogin": _ms(found.last_login),
        "unread": counted.unread_all,
        "unreadInbox": counted.unread_inbox,
        "recentmails": [_recent(r) for r in counted.recent],
        "mailQuota": {
            "used": counted.used_bytes,
            "limit": found.quota_bytes or 0,
            "messages": counted.messages,
        },
    }


PARTS: dict[str, tuple[Any, tuple[str, ...], str]] = {
    "": (MailAnswer, tuple(MailAnswer.__annotations__), "All counters of the mailbox at once."),
    "/newmessages": (
        NewMessages,
        ("newmessages", "lastLogin"),
        "INBOX messages delivered after the last mail login (all if never).",
    ),
    "/quota": (QuotaAnswer, ("mailQuota",), "Bytes used and allowed, INBOX message count."),
    "/recentmails": (RecentAnswer, ("recentmails",), "The 5 newest INBOX messages."),
    "/unread": (Unread, ("unread",), "Unread messages in every folder."),
    "/unread/inbox": (UnreadInbox, ("unreadInbox",), "Unread messages in INBOX."),
}


def _route(suffix: str, shape: Any, keys: tuple[str, ...], summary: str) -> Any:
    async def read(
        uid: FromPath[str],
        mailboxes: NamedDependency[MailboxService],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        answer = everything(await mailboxes.counters(principal, uid))
        return ok({key: answer[key] for key in keys})  # type: ignore[literal-required]

    read.__doc__ = summary
    name = "mail" + suffix.replace("/", "_")
    handler: Callable[..., Awaitable[Response[bytes]]] = read
    return get(
        f"/mail/{{uid:str}}{suffix}",
        guards=[tennant],
        opt=wire(answers={200: shape}),
        name=name,
    )(handler)


def router() -> Router:
    return Router(path="/", route_handlers=[_route(s, *part) for s, part in PARTS.items()])
