"""`/openapi.yaml` (no auth) and `/openapi.json` (auth) (contract §4.6): this API's own
document, built from what each route declares it reads and answers (`documents`)."""

from __future__ import annotations

from typing import Any

import msgspec
import yaml
from litestar import Request, Response, Router, get

from .. import documents
from .http import CONTRACT

AnyRequest = Request[Any, Any, Any]


class _Dumper(yaml.SafeDumper):
    """Every schema written out where it is used: no `&id001` anchors for shared ones."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@get("/openapi.yaml", include_in_schema=False)
async def openapi_yaml(request: AnyRequest) -> Response[bytes]:
    built = documents.cached_document(request.app, CONTRACT)
    return Response(
        yaml.dump(built, Dumper=_Dumper, sort_keys=False).encode(), media_type="application/yaml"
    )


@get("/openapi.json", include_in_schema=False)
async def openapi_json(request: AnyRequest) -> Response[bytes]:
    built = documents.cached_document(request.app, CONTRACT)
    return Response(msgspec.json.encode(built), media_type="application/json")


router = Router(path="/", route_handlers=[openapi_yaml, openapi_json])
