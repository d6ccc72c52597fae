"""Fuzzing an API's own published OpenAPI document against a running server.

Each API's contract test builds the document the server publishes (from the dialect's
routes, in process: schemathesis must know the operations when tests are collected,
before any server runs; each API's `test_the_document_is_published` checks the server
serves the same), lets schemathesis generate valid and invalid requests for every
operation, and checks every answer: never a 5xx, a status the operation declares, the
declared media type, a body matching the declared schema. Examples per operation are
bounded so the whole suite stays within CI's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from townhall.dialects import documents, kit
from townhall.dialects.kit import Dialect

CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        # Valid requests and ones that break the document (refused with a declared
        # status, never a 5xx). The coverage phase would multiply the request count.
        "generation": {"mode": "all"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)

EXAMPLES = settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
"""Hypothesis settings for every contract test: reproducible, bounded."""


def built(dialect: Dialect) -> dict[str, Any]:
    assert dialect.contract is not None
    app = Litestar(route_handlers=dialect.routers(), dependencies=kit.providers())
    return documents.document(app, dialect.contract)


def schema(dialect: Dialect) -> Any:
    """The dialect's document, as schemathesis reads it."""
    return schemathesis.openapi.from_dict(built(dialect), config=CONFIG)


def served(server_url: str, dialect: Dialect) -> dict[str, Any]:
    assert dialect.contract is not None
    answer = requests.get(server_url + dialect.contract.url, timeout=10)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def call(case: schemathesis.Case, base_url: str, headers: dict[str, str]) -> None:
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
