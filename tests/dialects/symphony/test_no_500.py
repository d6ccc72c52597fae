"""Symphony: input no handler was written for is a 4xx in Symphony's error body, never a
500: a JSON body nested a thousand levels deep (also at the unauthenticated logins),
user ids at the edges of 64 bits, and an avatar that is a decompression bomb."""

from __future__ import annotations

import base64
import struct
import zlib

import requests

from tests.conftest import RunningServer
from tests.helpers.symphony import Bot, session_token

DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
DEEP_ARRAY = b"[" * 1000 + b"]" * 1000
JSON = {"Content-Type": "application/json"}


def _log_after(server: RunningServer, mark: int) -> str:
    return server.log.read_bytes()[mark:].decode(errors="replace")


def _error(answer: requests.Response, statuses: set[int]) -> str:
    """Symphony's error body ({"code", "message"}), checked; returns the message."""
    assert answer.status_code in statuses, (answer.url, answer.status_code, answer.text)
    body = answer.json()
    assert body["code"] == answer.status_code and body["message"], body
    return str(body["message"])


def test_deeply_nested_bodies_are_refused_naming_the_body(
    server: RunningServer, admin_bot: Bot
) -> None:
    mark = server.log.stat().st_size
    for login in ("/login/pubkey/authenticate", "/relay/pubkey/authenticate"):
        for deep in (DEEP_OBJECT, DEEP_ARRAY):
            # The Login API answers every refused login with 401 (see login.py).
            answer = requests.post(f"{server.url}{login}", data=deep, headers=JSON)
            assert "body" in _error(answer, {400, 401})
    headers = {**JSON, "sessionToken": session_token(server, admin_bot)}
    uid = admin_bot.uid
    for path in (
        "/pod/v2/admin/user/create",
        f"/pod/v1/admin/user/{uid}/features/update",
        "/pod/v1/companycert/type/list",
        "/pod/v1/companycert/create",
        "/pod/v3/room/create",
        "/pod/v3/room/search",
        "/pod/v1/admin/im/create",
        "/pod/v2/user/presence",
        f"/pod/v1/admin/user/{uid}/avatar/update",
    ):
        for deep in (DEEP_OBJECT, DEEP_ARRAY):
            answer = requests.post(f"{server.url}{path}", data=deep, headers=headers)
            assert "body" in _error(answer, {400}), path
    log = _log_after(server, mark)
    assert "Traceback" not in log and "RecursionError" not in log, log[-2000:]


def test_user_ids_at_the_edges_of_64_bits(server: RunningServer, admin_bot: Bot) -> None:
    mark = server.log.stat().st_size
    headers = {"sessionToken": session_token(server, admin_bot)}
    for uid in (-(2**63), -(2**63) - 1, -1, 0, 2**63 - 1, 2**63, 2**64, 10**30):
        for path in (
            f"/pod/v3/user/{uid}/presence",
            f"/pod/v1/user/{uid}/presence",
            f"/pod/v2/admin/user/{uid}",
            f"/pod/v1/admin/user/{uid}/status",
            f"/pod/v1/admin/user/{uid}/features",
            f"/pod/v1/admin/user/{uid}/delegates",
            f"/pod/v1/admin/user/{uid}/disclaimer",
            f"/pod/v1/admin/user/{uid}/avatar",
            f"/pod/v1/admin/user/{uid}/app/entitlement/list",
            f"/pod/v1/connection/user/{uid}/info",
        ):
            answer = requests.get(f"{server.url}{path}", headers=headers)
            _error(answer, {400, 404})
        for last in (uid, 0):
            params = {"lastUserId": str(last), "limit": str(uid)}
            url = f"{server.url}/pod/v2/users/presence"
            answer = requests.get(url, headers=headers, params=params)
            assert answer.status_code in {200, 400}, (uid, answer.text)
    log = _log_after(server, mark)
    assert "Traceback" not in log, log[-2000:]


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_an_avatar_claiming_millions_of_pixels_is_refused(
    server: RunningServer, admin_bot: Bot
) -> None:
    mark = server.log.stat().st_size
    headers = {"sessionToken": session_token(server, admin_bot)}
    url = f"{server.url}/pod/v1/admin/user/{admin_bot.uid}/avatar/update"
    for width, height in ((10_000, 8_000), (13_400, 13_400), (65_535, 65_535), (2**31 - 1, 1)):
        image = base64.b64encode(_png_bomb(width, height)).decode()
        answer = requests.post(url, json={"image": image}, headers=headers)
        message = _error(answer, {400})
        assert "image" in message and "pixels" in message, message
    listed = requests.get(f"{server.url}/pod/v1/admin/user/{admin_bot.uid}/avatar", headers=headers)
    assert listed.status_code == 200 and listed.json() == []
    log = _log_after(server, mark)
    assert "Traceback" not in log and "DecompressionBomb" not in log, log[-2000:]
