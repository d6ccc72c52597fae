"""Values no database column can hold, found in what a client sent: text with a NUL
character (JSON allows `\\u0000`, PostgreSQL text does not) and integers beyond 64 bits.

Shared by the dialects, each of which refuses them in its own error format and names
the field, so bad input is a 400 rather than a database error on PostgreSQL (SQLite
would store them, and the two backends must agree).
"""

from __future__ import annotations

import re
from typing import Any

NUL_REFUSED = "text must not contain NUL characters"
INT64_REFUSED = "must be a 64-bit integer"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SUSPECT = re.compile(rb"\\u0000|[0-9]{19}")


def suspect(raw: bytes) -> bool:
    """Whether a JSON body may hold such a value (a NUL escape or a number of 19+
    digits): only then is the decoded body walked."""
    return _SUSPECT.search(raw) is not None


def find(value: Any, path: str = "") -> tuple[str, str] | None:
    """The wire path (`attendees[2]`, `customFields.floor`; "" for the value itself) of
    the first value no column can hold, and why."""
    if isinstance(value, str):
        return (path, NUL_REFUSED) if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else (path, INT64_REFUSED)
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found = (where, NUL_REFUSED) if "\x00" in str(key) else find(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
