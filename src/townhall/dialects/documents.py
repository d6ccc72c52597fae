"""Typed OpenAPI documents, one per API, from what each handler declares it reads and answers.

Litestar documents a handler from its signature, but ours read their own bodies (each API
refuses bad input in its own error format, and Openfire takes XML as well as JSON), so a
signature says only `Request` and the generated document would show no bodies, no query
parameters and every answer as a string. Instead each handler declares its wire in `opt`
with `wire(...)`, naming the same types it parses and renders with; `document()` turns
the declarations of one API into an OpenAPI 3.1 document. The contract tests fuzz each
published document against the running server, so a declaration that drifts from what the
handler does fails the suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from townhall import __version__

WIRE = "wire"
"""The key of a handler's `opt` that holds its `Wire`."""
REF = "#/components/schemas/{name}"


@runtime_checkable
class Shape(Protocol):
    """A wire shape that is not a Python type (Openfire's entity descriptions): it names
    itself and writes its own JSON schema."""

    @property
    def schema_name(self) -> str: ...

    def json_schema(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Param:
    """A query parameter or request header the handler reads itself."""

    name: str
    schema: Any = str
    required: bool = False
    description: str = ""
    where: Literal["query", "header"] = "query"


@dataclass(frozen=True)
class Wire:
    """What one operation reads and answers.

    `body`, `answers` values and `Param.schema` are a Python type msgspec can describe
    (a Struct, TypedDict, list[...], str...), a `Shape`, or a literal JSON schema (a dict).
    An answer of None has no body. `public`: no credentials needed. `media`: the body and
    answer media types when they differ from the API's; `answer_media`: the answers'
    when they differ from the body's (multipart in, JSON out)."""

    body: Any = None
    params: tuple[Param, ...] = ()
    answers: Mapping[int, Any] = field(default_factory=dict)
    public: bool = False
    media: tuple[str, ...] | None = None
    body_required: bool = True
    answer_media: tuple[str, ...] | None = None


def wire(
    body: Any = None,
    params: tuple[Param, ...] = (),
    answers: Mapping[int, Any] | None = None,
    *,
    public: bool = False,
    media: tuple[str, ...] | None = None,
    body_required: bool = True,
    answer_media: tuple[str, ...] | None = None,
) -> dict[str, Wire]:
    """`opt=` for a route decorator: `@get("/users", opt=wire(answers={200: Users}))`."""
    return {WIRE: Wire(body, params, answers or {}, public, media, body_required, answer_media)}


@dataclass(frozen=True)
class Contract:
    """One API's document: where it is served (`url`), which paths it covers, how
    callers authenticate (`security`: OpenAPI security schemes, any one accepted), and
    the refusals any operation may answer (`errors`: status -> error shape)."""

    title: str
    url: str
    prefixes: tuple[str, ...]
    security: Mapping[str, Mapping[str, Any]]
    errors: Mapping[int, Any]
    media: tuple[str, ...] = ("application/json",)
    description: str = ""


class _Schemas:
    """Collects every type and shape an API's operations name, to describe them in one
    pass (msgspec names shared structs once, under components)."""

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.shapes: dict[str, dict[str, Any]] = {}

    def ref(self, declared: Any) -> dict[str, Any]:
        if isinstance(declared, dict):
            return declared
        if isinstance(declared, Shape):
            self.shapes[declared.schema_name] = declared.json_schema()
            return {"$ref": REF.format(name=declared.schema_name)}
        if declared not in self.types:
            self.types.append(declared)
        return {"$type": self.types.index(declared)}

    def resolve(self, document: dict[str, Any]) -> None:
        """Replace each `{"$type": i}` placeholder by the type's schema."""
        described, components = msgspec.json.schema_components(self.types, ref_template=REF)

        def walk(node: Any) -> Any:
            if isinstance(node, dict):
                if set(node) == {"$type"}:
                    return described[node["$type"]]
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        document["paths"] = walk(document["paths"])
        document["components"]["responses"] = walk(document["components"]["responses"])
        document["components"]["schemas"] = dict(sorted({**components, **self.shapes}.items()))


def _content(schema: dict[str, Any], media: tuple[str, ...]) -> dict[str, Any]:
    return {m: {"schema": schema} for m in media}


def _answer(status: int, declared: Any, media: tuple[str, ...], schemas: _Schemas) -> Any:
    answer: dict[str, Any] = {"description": _REASONS.get(status, str(status))}
    if declared is not None:
        answer["content"] = _content(schemas.ref(declared), media)
    return answer


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Bad input (the error names the field)",
    401: "No or wrong credentials",
    403: "Not allowed for this caller",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    411: "Length required",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Understood but impossible",
    423: "Locked",
    429: "Too many attempts (see Retry-After)",
    451: "Refused by policy",
    503: "Unavailable for now (see Retry-After)",
}

_PATH_TYPES = {int: {"type": "integer"}, float: {"type": "number"}}


def _operation(
    route: HTTPRoute, method: str, declared: Wire, contract: Contract, schemas: _Schemas
) -> dict[str, Any]:
    media = declared.media or contract.media
    words = [w for w in route.path_format.replace("{", "").replace("}", "").split("/") if w]
    operation: dict[str, Any] = {
        "operationId": method.lower() + "".join(w[:1].upper() + w[1:] for w in words),
        "parameters": [
            {
                "name": p.name,
                "in": "path",
                "required": True,
                "schema": _PATH_TYPES.get(p.type, {"type": "string"}),
            }
            for p in route.path_parameters.values()
        ]
        + [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "schema": schemas.ref(p.schema),
                **({"description": p.description} if p.description else {}),
            }
            for p in declared.params
        ],
        "responses": {
            str(status): (
                _answer(status, declared.answers[status], declared.answer_media or media, schemas)
                if status in declared.answers
                else {"$ref": f"#/components/responses/{status}"}
            )
            for status in sorted({*contract.errors, *declared.answers})
        },
    }
    if declared.body is not None:
        operation["requestBody"] = {
            "required": declared.body_required,
            "content": _content(schemas.ref(declared.body), media),
        }
    if declared.public:
        operation["security"] = []
    return operation


def _summary(handler: Any) -> str:
    doc = (getattr(handler.fn, "__doc__", None) or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ")


METHOD_ORDER = ("get", "put", "post", "delete", "patch")


def _in_method_order(operations: dict[str, Any]) -> dict[str, Any]:
    """A path's operations in one fixed order: Litestar keeps a path's handlers in an
    order that varies between processes, and test runners that split the suite over
    processes need every process to collect the same tests."""
    return dict(sorted(operations.items(), key=lambda item: METHOD_ORDER.index(item[0])))


def document(app: Litestar, contract: Contract) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route under the contract's prefixes that
    declares its wire (routes without a declaration are not part of the API: the
    document routes themselves, the WebSocket)."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(contract.prefixes):
            continue
        for handler in route.route_handlers:
            declared = handler.opt.get(WIRE)
            if not isinstance(declared, Wire):
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                operation = _operation(route, method, declared, contract, schemas)
                if summary := _summary(handler):
                    operation["summary"] = summary
                paths.setdefault(route.path_format, {})[method.lower()] = operation
    built: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": contract.title, "version": __version__},
        "paths": {path: _in_method_order(ops) for path, ops in sorted(paths.items())},
        "components": {
            "securitySchemes": dict(contract.security),
            "responses": {
                str(status): _answer(status, shape, contract.media, schemas)
                for status, shape in sorted(contract.errors.items())
            },
        },
        "security": [{name: []} for name in contract.security],
    }
    if contract.description:
        built["info"]["description"] = contract.description
    schemas.resolve(built)
    return built


def cached_document(app: Litestar, contract: Contract) -> dict[str, Any]:
    """`document()`, built once per application (routes do not change while it runs)."""
    key = f"openapi:{contract.url}"
    if key not in app.state:
        app.state[key] = document(app, contract)
    built: dict[str, Any] = app.state[key]
    return built


def route(path: str, contract: Contract) -> HTTPRouteHandler:
    """The handler that publishes the contract's document at `path` (relative to the
    router it is mounted on), with no credentials, as Openfire's plugin publishes its own."""

    @get(path, include_in_schema=False, sync_to_thread=False)
    def openapi(request: Request[Any, Any, Any]) -> Response[bytes]:
        built = cached_document(request.app, contract)
        return Response(msgspec.json.encode(built), media_type="application/json")

    return openapi
