"""Symphony avatars: real images only, served back at the listed URL."""

from __future__ import annotations

import base64
import io
from typing import Any

import requests
from PIL import Image

from tests.conftest import RunningServer
from tests.helpers.symphony import Bot, make_bot, session_token
from townhall.services.container import Services


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def test_avatar_round_trip_with_the_bdk(bdk: Any, services: Services) -> None:
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    assert await bdk.users().get_avatar(user.uid) == []
    picture = _png()
    await bdk.users().update_avatar(user.uid, base64.b64encode(picture).decode())
    [avatar] = await bdk.users().get_avatar(user.uid)
    assert avatar.size == "original"
    served = requests.get(avatar.url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == picture


async def test_not_an_image_or_too_large(server: RunningServer, admin_bot: Bot) -> None:
    headers = {"sessionToken": session_token(server, admin_bot)}
    url = f"{server.url}/pod/v1/admin/user/{admin_bot.uid}/avatar/update"
    for image, reason in (
        ("not base64!", "base64"),
        (base64.b64encode(b"GIF89a but not really").decode(), "picture"),
        (base64.b64encode(b"\x89PNG" + b"0" * (2 * 1024 * 1024)).decode(), "smaller"),
    ):
        r = requests.post(url, json={"image": image}, headers=headers)
        assert r.status_code == 400 and reason in r.json()["message"], r.text
    listed = requests.get(f"{server.url}/pod/v1/admin/user/{admin_bot.uid}/avatar", headers=headers)
    assert listed.json() == []
    assert requests.get(f"{server.url}/avatars/{admin_bot.uid}/original").status_code == 404


async def test_avatar_urls_are_unguessable_and_rotate(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    headers = {"sessionToken": session_token(server, admin_bot)}
    pod = f"{server.url}/pod/v1/admin/user/{user.uid}/avatar"
    first, second = _png((8, 8)), _png((9, 9))
    for picture in (first, second):
        encoded = base64.b64encode(picture).decode()
        r = requests.post(f"{pod}/update", json={"image": encoded}, headers=headers)
        assert r.status_code == 200, r.text
        if picture == first:
            [listed] = requests.get(pod, headers=headers).json()
            old_url = listed["url"]
    [listed] = requests.get(pod, headers=headers).json()
    new_url = listed["url"]
    token = new_url.rsplit("/", 2)[-2]
    assert len(token) >= 22 and str(user.uid) != token  # 128 random bits, not the uid
    served = requests.get(new_url)  # no session: an <img> tag sends none
    assert served.status_code == 200 and served.content == second
    assert requests.get(old_url).status_code == 404  # a new picture, a new URL
    for guess in (str(user.uid), str(user.uid - 1), str(user.uid + 1)):
        assert requests.get(f"{server.url}/avatars/{guess}/original").status_code == 404


async def test_user_records_list_the_avatar_they_have(
    server: RunningServer, admin_bot: Bot, services: Services
) -> None:
    user = await make_bot(services, frozenset({"INDIVIDUAL"}))
    headers = {"sessionToken": session_token(server, admin_bot)}
    pod = f"{server.url}/pod"

    def mine(listed: dict[str, Any]) -> dict[str, Any]:
        return next(u for u in listed["users"] if u["id"] == user.uid)

    lookups = (
        (f"/v3/users?uid={user.uid},{admin_bot.uid}", mine),
        (f"/v2/user?uid={user.uid}", lambda b: b),
        (f"/v1/user/name/{user.username}/get", lambda b: b),
    )
    for path, record in lookups:
        assert record(requests.get(pod + path, headers=headers).json())["avatars"] == []
    encoded = base64.b64encode(_png()).decode()
    r = requests.post(
        f"{pod}/v1/admin/user/{user.uid}/avatar/update", json={"image": encoded}, headers=headers
    )
    assert r.status_code == 200, r.text
    listed = requests.get(f"{pod}/v1/admin/user/{user.uid}/avatar", headers=headers).json()
    for path, record in lookups:
        assert record(requests.get(pod + path, headers=headers).json())["avatars"] == listed, path
    everyone = requests.get(f"{pod}/v3/users?uid={user.uid},{admin_bot.uid}", headers=headers)
    others = [u for u in everyone.json()["users"] if u["id"] != user.uid]
    assert others and others[0]["avatars"] == []
