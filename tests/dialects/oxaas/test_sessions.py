"""`DELETE /admin/sessions`: every kind of session a person has ends, and their ids come back."""

from __future__ import annotations

import requests

from tests.conftest import RunningServer
from tests.helpers.ox import context_admin, new_person, refused
from tests.helpers.rmp import Rmp
from tests.helpers.symphony import Bot, session_token


async def test_closing_a_users_sessions_ends_rmp_tokens_and_symphony_sessions(
    server: RunningServer, admin_bot: Bot
) -> None:
    ox = context_admin(server)
    uid, name = new_person(server)
    rmp = Rmp(server).login(f"{name}@example.org", "pw-1234567")
    session_id = rmp.login_answer["sessionId"]
    assert rmp.get("/auth/admin").status_code == 200
    bot_token = session_token(server, admin_bot)
    closed = ox.delete("/admin/sessions", params={"contextId": "1", "userName": name})
    assert closed.status_code == 200, closed.text
    assert session_id in closed.json()["closed"]
    assert rmp.get("/auth/admin").status_code == 401
    # Another person's sessions are untouched.
    pod = f"{server.url}/pod/v2/sessioninfo"
    assert requests.get(pod, headers={"sessionToken": bot_token}).status_code == 200
    by_id = ox.delete("/admin/sessions", params={"contextId": "1", "userId": str(admin_bot.uid)})
    assert len(by_id.json()["closed"]) == 1
    assert requests.get(pod, headers={"sessionToken": bot_token}).status_code == 401
    assert ox.delete("/admin/sessions", params={"contextId": "1", "userId": str(uid)}).json() == {
        "closed": []
    }


def test_the_context_and_user_must_exist(server: RunningServer) -> None:
    ox = context_admin(server)
    refused(ox.delete("/admin/sessions"), 400, "contextId")
    refused(ox.delete("/admin/sessions", params={"contextId": "x"}), 400, "contextId")
    refused(ox.delete("/admin/sessions", params={"contextId": "99999"}), 404, "context")
    refused(ox.delete("/admin/sessions", params={"contextName": "no such"}), 404, "context")
    refused(
        ox.delete("/admin/sessions", params={"contextId": "1", "userName": "nobody-here"}),
        404,
        "nobody-here",
    )
    by_name = ox.delete(
        "/admin/sessions", params={"contextName": "example.org", "userName": "nobody"}
    )
    refused(by_name, 404, "nobody")
