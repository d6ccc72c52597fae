"""`/docs`: one browser page for every API's typed document, served with no network.

The documents are OpenAPI 3.1 (dialects/documents.py), which Swagger UI reads from its
version 5; its assets come from the `swagger-ui-py` wheel and are served from here, since
an organisation's back office often runs where public CDNs are unreachable or not trusted.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import msgspec
from litestar import MediaType, Response, Router, get
from litestar.handlers import HTTPRouteHandler
from litestar.static_files import create_static_files_router

from townhall.dialects.documents import Contract

ASSETS = "/docs/assets"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Townhall APIs</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-ui-standalone-preset.js"></script>
<script>
SwaggerUIBundle({{
  urls: {urls},
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
}});
</script>
</body>
</html>
"""


def _assets_folder() -> Path:
    """The wheel's static folder, found without importing the package (its `__init__`
    loads handlers for a dozen web frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS, directories=[str(_assets_folder())], include_in_schema=False
    )


def page(contracts: Sequence[Contract]) -> HTTPRouteHandler:
    """The page listing every API's document (a drop-down switches between them)."""
    urls = [{"url": c.url, "name": c.title} for c in contracts]
    html = PAGE.format(assets=ASSETS, urls=msgspec.json.encode(urls).decode().replace("</", "<\\/"))

    @get("/docs", include_in_schema=False, sync_to_thread=False)
    def docs_page() -> Response[str]:
        return Response(html, media_type=MediaType.HTML)

    return docs_page
