"""The OX Cloud-Plugins API against its own published document (`/oxaas/v1/openapi.json`).

A server of its own: the fuzz closes every session of its context and deletes every
forward, which a shared server's other tests would feel. Path parameters point at real
things made for each case (a person with a mailbox, an alias of the context).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis

from tests.conftest import ADMIN_PASSWORD, RunningServer, start_server, stop_server
from tests.helpers import contract
from tests.helpers.databases import backend_of, fresh_database
from tests.helpers.ox import new_person
from townhall.dialects import oxaas

document = contract.schema(oxaas.DIALECT)
BASIC = {"Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()}


@pytest.fixture(scope="module")
def own_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    folder: Path = tmp_path_factory.mktemp("ox-contract")
    with fresh_database(backend_of(database_url), folder) as url:
        # Its own mail folder: the fuzz sends real notifications into mailboxes.
        running = start_server(url, folder / "server.log", TOWNHALL_MAIL_DIR=str(folder / "mail"))
        yield running
        stop_server(running)


def test_the_document_is_published(own_server: RunningServer) -> None:
    assert contract.served(own_server.url, oxaas.DIALECT) == contract.built(oxaas.DIALECT)


_PEOPLE: dict[tuple[str, str], tuple[int, str]] = {}
"""A person per server and operation, kept across its examples while it exists."""


def _person(server: RunningServer, operation: str) -> tuple[int, str]:
    """The operation's person (made again only when an example deleted it): making one
    hashes a password, which per example was most of this file's time in CI."""
    kept = _PEOPLE.get((server.url, operation))
    if kept is not None:
        there = requests.get(f"{server.api}/users/{kept[1]}", headers=BASIC)
        if there.status_code == 200:
            return kept
    _PEOPLE[(server.url, operation)] = made = new_person(server)
    return made


@document.parametrize()
@contract.EXAMPLES
def test_every_operation(case: schemathesis.Case, own_server: RunningServer) -> None:
    uid, name = _person(own_server, case.operation.label)
    alias = f"fuzz-{name}@example.org"
    made = requests.put(
        f"{own_server.url}/oxaas/v1/admin/forwards/1/{alias}",
        json={"recipient": f"{name}@example.org"},
        headers=BASIC,
    )
    assert made.status_code == 200, made.text
    real = {
        "contextid": "1",
        "contextId": "1",
        "userid": str(uid),
        "alias": alias,
        "usercontext": f"{uid}@1",
    }
    for key in list(case.path_parameters or {}):
        if key in real:
            case.path_parameters[key] = real[key]  # type: ignore[index]
        elif key == "recipient":
            case.path_parameters[key] = f"{name}@example.org"  # type: ignore[index]
    contract.call(case, own_server.url, BASIC)
