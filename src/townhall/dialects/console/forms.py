"""Reading the console's HTML forms and query strings: each value as text, refused
naming the field (`kit.Malformed`) when it cannot be used, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from litestar import Request

from townhall.dialects import kit

MAX_TEXT = 4096


@dataclass(frozen=True, slots=True)
class Form:
    values: dict[str, str]

    def text(self, name: str, default: str = "", limit: int = MAX_TEXT) -> str:
        value = self.values.get(name, default)
        if len(value) > limit:
            raise kit.Malformed(name, f"must be at most {limit} characters")
        kit.refuse_unstorable(value, name)
        return value.strip()

    def required(self, name: str, limit: int = MAX_TEXT) -> str:
        value = self.text(name, limit=limit)
        if not value:
            raise kit.Malformed(name, "must not be empty")
        return value

    def flag(self, name: str) -> bool:
        return self.values.get(name, "") in {"on", "true", "1", "yes"}

    def day(self, name: str) -> date:
        raw = self.required(name, 10)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise kit.Malformed(name, "must be a date such as 2026-12-07") from None

    def clock(self, name: str) -> time:
        raw = self.required(name, 8)
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise kit.Malformed(name, "must be a time such as 09:30") from None

    def moment(self, name: str) -> datetime | None:
        """An optional `datetime-local` value, read as UTC."""
        raw = self.text(name, limit=32)
        if not raw:
            return None
        try:
            found = datetime.fromisoformat(raw)
        except ValueError:
            raise kit.Malformed(name, "must be a date and time such as 2026-12-07T09:30") from None
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)

    def page(self, name: str = "page") -> int:
        return kit.integer(self.values.get(name), name, 1, 1, 1_000_000)


async def posted(request: Request[Any, Any, Any]) -> Form:
    """The form a POST carried (already read, and cached, by the CSRF check)."""
    form = await request.form()
    return Form({k: v for k, v in form.items() if isinstance(v, str)})


def query(request: Request[Any, Any, Any]) -> Form:
    return Form({k: v for k, v in request.query_params.items() if isinstance(v, str)})
