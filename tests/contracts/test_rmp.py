"""The RMP v2 API against its own published document (`/api/v2/openapi.json`)."""

from __future__ import annotations

import pytest
import schemathesis

from tests.conftest import RunningServer
from tests.helpers import contract
from tests.helpers.rmp import admin
from townhall.dialects import rmp

document = contract.schema(rmp.DIALECT)


@pytest.fixture(scope="module")
def token(server: RunningServer) -> str:
    return str(admin(server).login_answer["token"])


def test_the_document_is_published(server: RunningServer) -> None:
    assert contract.served(server.url, rmp.DIALECT) == contract.built(rmp.DIALECT)


@document.parametrize()
@contract.EXAMPLES
def test_every_operation(case: schemathesis.Case, server: RunningServer, token: str) -> None:
    contract.call(case, server.url, {"Authorization": f"Bearer {token}"})
