"""What a path in a person's file storage is, whichever API names it.

A path is a list of names separated by `/`, inside the person's storage: `/` (or
nothing) is its top folder, and a leading `/` is that top, not the server's root. The
names are kept as given (case too), but nothing that could mean something else to a
file system or a client is let in: no `.` or `..`, no empty name (`a//b`), no
backslash (a Windows separator), no NUL or other control characters, no drive (`C:`)
first. Bytes are never stored under these names (the file store names blobs itself), so
this is about what a person sees being unambiguous; traversal is impossible either way.
"""

from __future__ import annotations

import re

from townhall.domain.errors import Invalid

MAX_NAME = 255
MAX_PATH = 1024
MAX_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:$")


def name(raw: str, field: str) -> str:
    """One name (a file's or a folder's), checked."""
    if raw in ("", ".", ".."):
        raise Invalid(field, "must name a file or folder (not empty, . or ..)")
    if "/" in raw or "\\" in raw:
        raise Invalid(field, "must be one name, without / or \\")
    if _CONTROL.search(raw):
        raise Invalid(field, "must not contain NUL or other control characters")
    if len(raw.encode()) > MAX_NAME:
        raise Invalid(field, f"must be at most {MAX_NAME} bytes long")
    return raw


def path(raw: str | None, field: str = "path") -> str:
    """The path as stored: no leading or trailing `/`, "" for the top folder."""
    if raw is None:
        return ""
    if "\\" in raw:
        raise Invalid(field, "must use / between names, never \\")
    if _CONTROL.search(raw):
        raise Invalid(field, "must not contain NUL or other control characters")
    inner = raw[1:] if raw.startswith("/") else raw
    inner = inner[:-1] if inner.endswith("/") else inner
    if not inner:
        return ""
    if len(inner) > MAX_PATH:
        raise Invalid(field, f"must be at most {MAX_PATH} characters long")
    parts = inner.split("/")
    if len(parts) > MAX_DEPTH:
        raise Invalid(field, f"must be at most {MAX_DEPTH} folders deep")
    if _DRIVE.match(parts[0]):
        raise Invalid(field, "must be a path inside the storage, not a drive")
    for part in parts:
        if part in ("", ".", ".."):
            raise Invalid(field, "must not contain empty names, . or .. (it stays inside)")
        if len(part.encode()) > MAX_NAME:
            raise Invalid(field, f"must have names of at most {MAX_NAME} bytes")
    return inner


def join(folder: str, entry: str) -> str:
    return f"{folder}/{entry}" if folder else entry


def parent(stored: str) -> str:
    return stored.rpartition("/")[0]


def shown(stored: str) -> str:
    """The path as a person sees it: from the top folder, `/`."""
    return "/" + stored
