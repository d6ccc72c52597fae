"""What a browser needs: the OpenAPI page with no network, and CORS for front ends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import RunningServer, start_server, stop_server
from townhall.app import APIS

FRONT_END = "https://front.example"
PROTECTED = ["/api/v2/users", "/pod/v2/sessioninfo", "/plugins/restapi/v1/users"]


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder: Path = tmp_path_factory.mktemp("browser")
    running = start_server(
        f"sqlite:///{folder / 'townhall.db'}",
        folder / "server.log",
        TOWNHALL_CORS_ORIGINS=f"{FRONT_END}, https://other.example",
    )
    yield running
    stop_server(running)


def test_the_docs_page_loads_everything_from_this_server(browser_server: RunningServer) -> None:
    page = requests.get(f"{browser_server.url}/docs", timeout=10)
    assert page.status_code == 200
    addresses = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert addresses, page.text
    assert not [a for a in addresses if "//" in a], addresses
    for address in addresses:
        asset = requests.get(f"{browser_server.url}{address}", timeout=10)
        assert asset.status_code == 200, address
        assert len(asset.content) > 500, address


def test_the_docs_page_offers_every_apis_own_document(browser_server: RunningServer) -> None:
    page = requests.get(f"{browser_server.url}/docs", timeout=10).text
    for dialect in APIS:
        assert dialect.contract is not None, dialect.name
        assert f'"url":"{dialect.contract.url}"' in page, dialect.name
        served = requests.get(f"{browser_server.url}{dialect.contract.url}", timeout=10)
        assert served.status_code == 200, dialect.name
        assert yaml.safe_load(served.text)["openapi"] == "3.1.0", dialect.name


@pytest.mark.parametrize("path", PROTECTED)
def test_a_preflight_from_a_configured_origin_is_answered_before_auth(
    browser_server: RunningServer, path: str
) -> None:
    answer = requests.options(
        f"{browser_server.url}{path}",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert answer.status_code in (200, 204)
    assert answer.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "authorization" in answer.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("path", PROTECTED[:2])
def test_answers_name_only_a_configured_origin(browser_server: RunningServer, path: str) -> None:
    allowed = requests.get(f"{browser_server.url}{path}", headers={"Origin": FRONT_END}, timeout=10)
    assert allowed.status_code == 401
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "Retry-After" in allowed.headers.get("Access-Control-Expose-Headers", "")
    stranger = requests.get(
        f"{browser_server.url}{path}", headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert stranger.headers.get("Access-Control-Allow-Origin") in (None, "*")


def test_preflight_from_an_unknown_origin_is_refused(browser_server: RunningServer) -> None:
    answer = requests.options(
        f"{browser_server.url}/api/v2/users",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert answer.status_code >= 400
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_openfire_keeps_the_plugins_own_cors_headers(browser_server: RunningServer) -> None:
    """The plugin answers every origin (its CORS filter); its clients rely on that."""
    answer = requests.get(
        f"{browser_server.url}/plugins/restapi/v1/users",
        headers={"Origin": "https://evil.example"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
