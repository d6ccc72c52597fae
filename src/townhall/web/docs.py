"""`/docs`: the OpenAPI browser, served from the package with no network at run time.

Litestar's Swagger page loads its scripts and icon from public CDNs by default; an
organisation's back office often runs where those are unreachable (or not to be
trusted), so the UI assets come from the `swagger-ui-bundle` wheel and are served here.
"""

from __future__ import annotations

from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS, directories=[str(swagger_ui_path)], include_in_schema=False
    )


def render_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )
