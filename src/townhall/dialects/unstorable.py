"""Values no database column can hold, found in what a client sent: text with a NUL
character (JSON allows `\\u0000`, PostgreSQL text does not) and integers beyond 64 bits;
and JSON nested deeper than any API needs (`too_deep`), which the decoders would answer
with a RecursionError, a 500 and a stack trace in the log.

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
MAX_DEPTH = 64
DEPTH_REFUSED = f"must not nest arrays and objects more than {MAX_DEPTH} levels deep"
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")


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


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether a JSON text nests arrays and objects more than `limit` levels deep.

    Checked before decoding, since the decoders recurse. Cheap for ordinary bodies
    (counting brackets); otherwise only the brackets outside strings are kept, all of
    one kind, and innermost pairs removed, one level per round, all in C: a pair left
    after `limit` rounds is deeper than `limit`. Unbalanced text is not "too deep": the
    decoder refuses it as malformed."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", raw).translate(_SQUARE, _NOT_BRACKETS)
    if b"[" * (limit + 1) in brackets:
        return True
    for _ in range(limit):
        fewer = brackets.replace(b"[]", b"")
        if not fewer or len(fewer) == len(brackets):
            return False
        brackets = fewer
    return b"[]" in brackets
