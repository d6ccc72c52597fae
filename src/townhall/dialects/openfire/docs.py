"""`/openapi.yaml` (no auth) and `/openapi.json` (auth) (contract §4.6): the part of
Townhall's own OpenAPI document that describes this dialect."""

from __future__ import annotations

from typing import Any

import msgspec
import yaml
from litestar import Litestar, Request, Response, Router, get

from ..documents import Contract, cached_document
from .http import PREFIX

AnyRequest = Request[Any, Any, Any]


CONTRACT = Contract("Openfire REST API (Townhall)", f"{PREFIX}/openapi.yaml", (PREFIX,), {}, {})


def _document(app: Litestar) -> dict[str, Any]:
    return cached_document(app, CONTRACT)


@get("/openapi.yaml", include_in_schema=False)
async def openapi_yaml(request: AnyRequest) -> Response[bytes]:
    text = yaml.safe_dump(_document(request.app), sort_keys=False)
    return Response(text.encode(), media_type="application/yaml")


@get("/openapi.json", include_in_schema=False)
async def openapi_json(request: AnyRequest) -> Response[bytes]:
    return Response(msgspec.json.encode(_document(request.app)), media_type="application/json")


router = Router(path="/", route_handlers=[openapi_yaml, openapi_json])
