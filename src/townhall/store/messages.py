"""Messages of rooms, addressed by their message id (Symphony's view of room history).

A message belongs to a tenant through its room's chat service. Suppression hides a
message from every history (Openfire's `/chatrooms/{room}/chathistory` too, which reads
only unsuppressed rows) but keeps the row, as compliance needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from townhall.infrastructure.clock import as_utc
from townhall.store.database import Tx
from townhall.store.schema import chat_services, room_messages, rooms


@dataclass(frozen=True, slots=True)
class StoredMessage:
    message_id: str
    stream_id: str | None
    sender: str | None
    body: str | None
    sent_at: datetime
    suppressed: bool
    suppressed_at: datetime | None
    """None for a message hidden before suppression times were kept."""


_COLUMNS = (
    room_messages.c.id,
    room_messages.c.message_id,
    rooms.c.stream_id,
    room_messages.c.sender,
    room_messages.c.body,
    room_messages.c.sent_at,
    room_messages.c.suppressed,
    room_messages.c.suppressed_at,
)


def _message(row: Any) -> StoredMessage:
    return StoredMessage(
        message_id=row.message_id,
        stream_id=row.stream_id,
        sender=row.sender,
        body=row.body,
        sent_at=as_utc(row.sent_at),
        suppressed=bool(row.suppressed),
        suppressed_at=as_utc(row.suppressed_at) if row.suppressed_at else None,
    )


async def room_address(tx: Tx, room_id: int) -> tuple[str, str]:
    """The room's (JID node, chat service name), which make up its XMPP address."""
    query = (
        select(rooms.c.name, chat_services.c.name.label("service"))
        .join(chat_services, chat_services.c.id == rooms.c.service_id)
        .where(rooms.c.id == room_id)
    )
    row = (await tx.execute(query)).one()
    return row.name, row.service


async def insert_message(
    tx: Tx,
    room_id: int,
    message_id: str,
    sender: str,
    recipient: str,
    body: str,
    sent_at: datetime,
) -> None:
    await tx.execute(
        insert(room_messages).values(
            room_id=room_id,
            message_id=message_id,
            sender=sender,
            recipient=recipient,
            type="groupchat",
            body=body,
            sent_at=sent_at,
        )
    )


async def find(tx: Tx, tenant_id: int, message_id: str) -> StoredMessage | None:
    query = (
        select(*_COLUMNS)
        .join(rooms, rooms.c.id == room_messages.c.room_id)
        .join(chat_services, chat_services.c.id == rooms.c.service_id)
        .where(chat_services.c.tenant_id == tenant_id, room_messages.c.message_id == message_id)
    )
    row = (await tx.execute(query)).first()
    return _message(row) if row else None


async def suppress(tx: Tx, message_id: str, now: datetime) -> bool:
    """Hide the message if it is not hidden yet; False if another request did first."""
    done = await tx.execute(
        update(room_messages)
        .where(room_messages.c.message_id == message_id, room_messages.c.suppressed.is_(False))
        .values(suppressed=True, suppressed_at=now)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
