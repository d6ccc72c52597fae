"""The Openfire REST API plugin's wire format: JAXB-style XML and Jackson-style JSON.

One declarative description per entity (`Entity`, `Collection`) drives both the
renderers and the body parsers, so an element name, a JSON key or a field order is
written down exactly once. The plugin's rules this module keeps (see
shared/contracts/openfire.md §1.3-1.5): XML by default, JSON on request; nulls left out;
lists always arrays; dates as epoch milliseconds in JSON and xsd:dateTime in XML;
key/value pairs as attributes in XML; unknown JSON keys refused, unknown XML elements
ignored; scalars coerced leniently ("0" -> 0, "true" -> true).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

import msgspec

from .. import unstorable

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
XML = "application/xml"
JSON = "application/json"
Format = Literal["xml", "json"]
JAVA_INT_MIN, JAVA_INT_MAX = -(2**31), 2**31 - 1
"""The plugin's `int` fields are Java ints (and Townhall stores them as SQL INTEGER)."""
JAVA_LONG_MIN, JAVA_LONG_MAX = -(2**63), 2**63 - 1
_RANGES = {"int": (JAVA_INT_MIN, JAVA_INT_MAX), "long": (JAVA_LONG_MIN, JAVA_LONG_MAX)}
Scalar = Literal["str", "int", "long", "bool", "date"]


class BadRequest(Exception):
    """A body the plugin could not read; names the field when it can."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnsupportedMediaType(Exception):
    """The request's Content-Type is neither XML nor JSON."""


class NotAcceptable(Exception):
    """The client accepts neither XML nor JSON."""


@dataclass(frozen=True)
class Text:
    """A scalar child element (XML) / key (JSON)."""

    name: str
    type: Scalar = "str"
    json: str | None = None

    @property
    def key(self) -> str:
        return self.json or self.name


@dataclass(frozen=True)
class Items:
    """A wrapped list of strings: `<owners><owner>a</owner></owners>` / `"owners": ["a"]`."""

    name: str
    item: str

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Pairs:
    """Key/value pairs: `<properties><property key=".." value=".."/></properties>`."""

    name: str
    item: str = "property"

    @property
    def key(self) -> str:
        return self.name


Field = Text | Items | Pairs


_SCALAR, _DATE, _ITEMS, _PAIRS = range(4)


@dataclass(frozen=True)
class Entity:
    """`attributes`: scalar fields are XML attributes of an empty element (system
    properties), not child elements."""

    root: str
    fields: tuple[Field, ...]
    attributes: bool = False
    title: str = ""

    @property
    def schema_name(self) -> str:
        """Its name in the OpenAPI document (`title`, else the capitalised root)."""
        return self.title or _capitalised(self.root)

    def json_schema(self) -> dict[str, Any]:
        """Its JSON form as `_entity_json` writes it and `parse_json_entity` reads it:
        nulls left out (so no key is required), unknown keys refused."""
        fields = {f.key: _field_schema(f, self.attributes) for f in self.fields}
        return {
            "type": "object",
            "properties": fields,
            "additionalProperties": False,
            "xml": {"name": self.root},
        }

    @cached_property
    def json_plan(self) -> tuple[tuple[str, str, int], ...]:
        """(field name, JSON key, kind) per field, worked out once: lists of thousands of
        entities are rendered on hot paths."""
        return tuple((f.name, f.key, _kind(f)) for f in self.fields)

    def keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields)


_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "minimum": JAVA_INT_MIN, "maximum": JAVA_INT_MAX},
    "long": {"type": "integer", "minimum": JAVA_LONG_MIN, "maximum": JAVA_LONG_MAX},
    "bool": {"type": "boolean"},
    "date": {"type": "integer", "description": "epoch milliseconds"},
}


def _field_schema(f: Field, attribute: bool = False) -> dict[str, Any]:
    """The JSON form of one field, with the `xml` hints of its XML form (element names,
    wrapped lists, attributes)."""
    if isinstance(f, Pairs):
        text = {"type": "string", "xml": {"attribute": True}}
        pair = {
            "type": "object",
            "properties": {"key": text, "value": text},
            "required": ["key"],
            "additionalProperties": False,
            "xml": {"name": f.item},
        }
        return {"type": "array", "items": pair, "xml": {"name": f.name, "wrapped": True}}
    if isinstance(f, Items):
        item = {"type": "string", "xml": {"name": f.item}}
        return {"type": "array", "items": item, "xml": {"name": f.name, "wrapped": True}}
    schema = dict(_SCALAR_SCHEMAS[f.type])
    if attribute or f.key != f.name:
        schema["xml"] = {"name": f.name, **({"attribute": True} if attribute else {})}
    return schema


def _capitalised(name: str) -> str:
    return name[:1].upper() + name[1:]


def _kind(f: Field) -> int:
    if isinstance(f, Pairs):
        return _PAIRS
    if isinstance(f, Items):
        return _ITEMS
    return _DATE if f.type == "date" else _SCALAR


@dataclass(frozen=True)
class Body:
    """An entity as one operation reads it, with the fields it cannot do without (the
    same entity is read elsewhere without them, and rendered with only some)."""

    entity: Entity
    required: tuple[str, ...]
    title: str

    @property
    def schema_name(self) -> str:
        return self.title

    def json_schema(self) -> dict[str, Any]:
        return {**self.entity.json_schema(), "required": list(self.required)}


@dataclass(frozen=True)
class Collection:
    """A top-level list: items straight under the XML root, one JSON key holding an array."""

    root: str
    key: str
    item: Entity | str  # an Entity, or the element name of plain string items
    title: str = ""

    @property
    def schema_name(self) -> str:
        return self.title or _capitalised(self.root)

    def json_schema(self) -> dict[str, Any]:
        """`{"<key>": [items]}`: the key is always written."""
        if isinstance(self.item, Entity):
            item = self.item.json_schema()
        else:
            item = {"type": "string", "xml": {"name": self.item}}
        return {
            "type": "object",
            "properties": {self.key: {"type": "array", "items": item}},
            "required": [self.key],
            "additionalProperties": False,
            "xml": {"name": self.root},
        }


@dataclass(frozen=True)
class Grouped:
    """Named lists of one entity under one root, every list always present (output only):
    `<results><success><result>..</result></success><failure/></results>` /
    `{"success": [..], "failure": []}`."""

    root: str
    lists: tuple[str, ...]
    item: Entity
    title: str = ""

    @property
    def schema_name(self) -> str:
        return self.title or _capitalised(self.root)

    def json_schema(self) -> dict[str, Any]:
        """Every list is always written."""
        return {
            "type": "object",
            "properties": {
                name: {
                    "type": "array",
                    "items": self.item.json_schema(),
                    "xml": {"name": name, "wrapped": True},
                }
                for name in self.lists
            },
            "required": list(self.lists),
            "additionalProperties": False,
            "xml": {"name": self.root},
        }


# -- rendering ------------------------------------------------------------------------


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def xsd_datetime(moment: datetime) -> str:
    """xsd:dateTime in the server's zone; milliseconds only when non-zero; `Z` for UTC."""
    local = moment.astimezone()
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond // 1000:
        text += f".{local.microsecond // 1000:03d}"
    offset = local.utcoffset()
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _json_scalar(value: Any) -> Any:
    return epoch_ms(value) if isinstance(value, datetime) else value


def _xml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return xsd_datetime(value)
    return escape(str(value))


def _entity_json(entity: Entity, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, kind in entity.json_plan:
        value = data.get(name)
        if value is None:
            continue
        if kind == _SCALAR:
            out[key] = value
        elif kind == _DATE:
            out[key] = _json_scalar(value)
        elif kind == _PAIRS:
            out[key] = [
                {"key": k} if v is None else {"key": k, "value": v} for k, v in _pairs(value)
            ]
        else:
            out[key] = list(value)
    return out


def _pairs(
    value: Mapping[str, str | None] | Iterable[tuple[str, str | None]],
) -> Iterable[tuple[str, str | None]]:
    return value.items() if isinstance(value, dict | Mapping) else value


def _pairs_xml(item: str, value: Any) -> str:
    parts = []
    for k, v in _pairs(value):
        attrs = f" key={quoteattr(k)}" + ("" if v is None else f" value={quoteattr(v)}")
        parts.append(f"<{item}{attrs}/>")
    return "".join(parts)


def _entity_xml(entity: Entity, data: Mapping[str, Any], root: str | None = None) -> str:
    root = root or entity.root
    if entity.attributes:
        attrs = "".join(
            f" {f.name}={quoteattr(str(data[f.name]))}"
            for f in entity.fields
            if data.get(f.name) is not None
        )
        return f"<{root}{attrs}/>"
    parts = [f"<{root}>"]
    for f in entity.fields:
        value = data.get(f.name)
        if value is None:
            continue
        if isinstance(f, Pairs):
            inner = _pairs_xml(f.item, value)
        elif isinstance(f, Items):
            inner = "".join(f"<{f.item}>{_xml_scalar(v)}</{f.item}>" for v in value)
        else:
            parts.append(f"<{f.name}>{_xml_scalar(value)}</{f.name}>")
            continue
        parts.append(f"<{f.name}>{inner}</{f.name}>" if inner else f"<{f.name}/>")
    parts.append(f"</{root}>")
    return "".join(parts)


def _grouped(shape: Grouped, data: Mapping[str, Sequence[Any]], fmt: Format) -> bytes:
    if fmt == "json":
        lists = {n: [_entity_json(shape.item, d) for d in data.get(n, ())] for n in shape.lists}
        return msgspec.json.encode(lists)
    parts = []
    for name in shape.lists:
        inner = "".join(_entity_xml(shape.item, d) for d in data.get(name, ()))
        parts.append(f"<{name}>{inner}</{name}>" if inner else f"<{name}/>")
    return (XML_DECLARATION + f"<{shape.root}>{''.join(parts)}</{shape.root}>").encode()


def render(shape: Entity | Collection | Grouped, data: Any, fmt: Format) -> bytes:
    """Bytes for a single entity (a mapping), a collection (a sequence of them) or named
    lists of them (a mapping of sequences)."""
    if isinstance(shape, Grouped):
        return _grouped(shape, data, fmt)
    if isinstance(shape, Entity):
        if fmt == "json":
            return msgspec.json.encode(_entity_json(shape, data))
        return (XML_DECLARATION + _entity_xml(shape, data)).encode()
    if fmt == "json":
        if isinstance(shape.item, Entity):
            items: list[Any] = [_entity_json(shape.item, d) for d in data]
        else:
            items = list(data)
        return msgspec.json.encode({shape.key: items})
    if isinstance(shape.item, Entity):
        body = "".join(_entity_xml(shape.item, d) for d in data)
    else:
        body = "".join(f"<{shape.item}>{_xml_scalar(v)}</{shape.item}>" for v in data)
    xml = f"<{shape.root}>{body}</{shape.root}>" if body else f"<{shape.root}/>"
    return (XML_DECLARATION + xml).encode()


_RowPlan = tuple[tuple[int, str, str, int, str], ...]
_ROW_PLANS: dict[tuple[int, tuple[str, ...]], _RowPlan] = {}


def _row_plan(entity: Entity, names: tuple[str, ...]) -> _RowPlan:
    """(position in the row, field name, JSON key, kind, item element) per field the
    rows hold, in the entity's order, worked out once per entity and row shape."""
    key = (id(entity), names)
    plan = _ROW_PLANS.get(key)
    if plan is None:
        at = {name: i for i, name in enumerate(names)}
        plan = tuple(
            (at[f.name], f.name, f.key, _kind(f), f.item if isinstance(f, Items | Pairs) else "")
            for f in entity.fields
            if f.name in at
        )
        _ROW_PLANS[key] = plan
    return plan


def render_rows(
    shape: Collection, names: tuple[str, ...], rows: Iterable[Sequence[Any]], fmt: Format
) -> bytes:
    """The bytes `render(shape, [dict(zip(names, row)) for row in rows], fmt)` gives,
    written straight from the rows (tuples holding the fields `names` lists, pairs as
    tuples): a list of thousands spent most of its time building those dicts."""
    assert isinstance(shape.item, Entity) and not shape.item.attributes
    plan = _row_plan(shape.item, names)
    if fmt == "json":
        items = []
        for row in rows:
            out: dict[str, Any] = {}
            for at, _, key, kind, _ in plan:
                value = row[at]
                if value is None:
                    continue
                if kind == _SCALAR:
                    out[key] = value
                elif kind == _DATE:
                    out[key] = _json_scalar(value)
                elif kind == _PAIRS:
                    out[key] = [
                        {"key": k} if v is None else {"key": k, "value": v} for k, v in value
                    ]
                else:
                    out[key] = list(value)
            items.append(out)
        return msgspec.json.encode({shape.key: items})
    root = shape.item.root
    parts = []
    for row in rows:
        parts.append(f"<{root}>")
        for at, name, _, kind, item in plan:
            value = row[at]
            if value is None:
                continue
            if kind == _PAIRS:
                inner = _pairs_xml(item, value)
            elif kind == _ITEMS:
                inner = "".join(f"<{item}>{_xml_scalar(v)}</{item}>" for v in value)
            else:
                parts.append(f"<{name}>{_xml_scalar(value)}</{name}>")
                continue
            parts.append(f"<{name}>{inner}</{name}>" if inner else f"<{name}/>")
        parts.append(f"</{root}>")
    body = "".join(parts)
    xml = f"<{shape.root}>{body}</{shape.root}>" if body else f"<{shape.root}/>"
    return (XML_DECLARATION + xml).encode()


# -- content negotiation ----------------------------------------------------------------


def _media_types(header: str) -> list[tuple[str, float]]:
    found = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        quality = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        found.append((pieces[0].lower(), quality))
    return found


def response_format(accept: str | None, offers: Sequence[Format] = ("xml", "json")) -> Format:
    """Pick the representation: the plugin lists XML first, so XML wins ties."""
    if not accept:
        return offers[0]
    best: tuple[float, int, Format] | None = None
    for media, quality in _media_types(accept):
        if quality <= 0:
            continue
        for rank, offer in enumerate(offers):
            full = XML if offer == "xml" else JSON
            if media in (full, "*/*", "application/*"):
                candidate = (quality, -rank, offer)
                if best is None or candidate > best:
                    best = candidate
    if best is None:
        raise NotAcceptable(accept)
    return best[2]


def error_format(accept: str | None, content_type: str | None) -> Format:
    """Errors: the one concrete Accept type, else the request's Content-Type, else XML."""
    types = _media_types(accept or "")
    if len(types) == 1 and "*" not in types[0][0]:
        return "json" if types[0][0].endswith("json") else "xml"
    if content_type:
        return "json" if "json" in content_type.lower() else "xml"
    return "xml"


def body_format(content_type: str | None) -> Format:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == JSON:
        return "json"
    if media == XML:
        return "xml"
    raise UnsupportedMediaType(media)


# -- parsing --------------------------------------------------------------------------


@functools.cache
def xml_parser() -> Any:
    """lxml's parser, never resolving entities nor fetching DTDs (no XXE). Made on the
    first XML body: lxml is large and a JSON client never needs it."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _coerce(f: Text, value: Any) -> Any:
    if value is None:
        return None
    try:
        if f.type == "str":
            if isinstance(value, (dict, list)):
                raise TypeError
            return value if isinstance(value, str) else _stringify(value)
        if f.type in _RANGES:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = int(value)
            low, high = _RANGES[f.type]
            if not low <= number <= high:
                bits = 32 if f.type == "int" else 64
                raise BadRequest(
                    f'Cannot read field "{f.key}": {number} is beyond a {bits}-bit integer', f.key
                )
            return number
        if f.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise TypeError
        return _date(value)
    except (TypeError, ValueError, OverflowError, OSError):  # OverflowError: 1e300 ms
        raise BadRequest(
            f'Cannot read field "{f.key}": expected {_TYPE_WORDS[f.type]}, got {value!r}',
            f.key,
        ) from None


_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "long": "an integer",
    "bool": "true or false",
    "date": "a date",
}


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _date(value: Any) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # OverflowError if it leaves the years 1 to 9999 in UTC
        return parsed
    raise TypeError


def _string_list(f: Items | Pairs, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise BadRequest(f'Cannot read field "{f.key}": expected a list of strings', f.key)
    return [str(v) for v in value]


def _pair_list(f: Pairs, value: Any) -> list[tuple[str, str | None]]:
    if not isinstance(value, list):
        raise BadRequest(
            f'Cannot read field "{f.key}": expected a list of key/value objects', f.key
        )
    pairs = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"key", "value"} or "key" not in item:
            raise BadRequest(
                f'Cannot read field "{f.key}": each item needs "key" and optional "value"', f.key
            )
        raw = item.get("value")
        pairs.append((str(item["key"]), None if raw is None else _stringify(raw)))
    return pairs


def parse_json_entity(entity: Entity, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequest(f"Expected a JSON object for {entity.root}")
    unknown = sorted(set(raw) - entity.keys())
    if unknown:
        raise BadRequest(f'Unrecognized field "{unknown[0]}" for {entity.root}', unknown[0])
    out: dict[str, Any] = {}
    for f in entity.fields:
        if f.key not in raw:
            continue
        value = raw[f.key]
        if value is None:
            out[f.name] = None
        elif isinstance(f, Pairs):
            out[f.name] = _pair_list(f, value)
        elif isinstance(f, Items):
            out[f.name] = _string_list(f, value)
        else:
            out[f.name] = _coerce(f, value)
    return out


def parse_xml_entity(entity: Entity, element: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if entity.attributes:
        for f in entity.fields:
            if isinstance(f, Text) and element.get(f.name) is not None:
                out[f.name] = _coerce(f, element.get(f.name))
        return out
    children = {child.tag: child for child in element if isinstance(child.tag, str)}
    for f in entity.fields:
        child = children.get(f.name)
        if child is None:
            continue
        if isinstance(f, Pairs):
            out[f.name] = [
                (item.get("key", ""), item.get("value")) for item in child if item.tag == f.item
            ]
        elif isinstance(f, Items):
            out[f.name] = [item.text or "" for item in child if item.tag == f.item]
        else:
            out[f.name] = _coerce(f, child.text or "")
    return out


def parse_body(body: bytes, content_type: str | None, shape: Entity | Collection) -> Any:
    """The request body as a dict (entity) or a list (collection) of plain values."""
    fmt = body_format(content_type)
    if not body.strip():
        raise BadRequest("The request body is empty")
    if fmt == "json":
        if unstorable.too_deep(body):
            raise BadRequest(f"body: {unstorable.DEPTH_REFUSED}", "body")
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"Malformed JSON: {exc}") from None
        found = unstorable.find(raw) if unstorable.suspect(body) else None
        if found is not None:
            raise BadRequest(f"{found[0] or 'body'}: {found[1]}", found[0])
        if isinstance(shape, Entity):
            return parse_json_entity(shape, raw)
        if not isinstance(raw, dict) or set(raw) - {shape.key}:
            raise BadRequest(f'Expected a JSON object with the single key "{shape.key}"')
        items = raw.get(shape.key) or []
        if not isinstance(items, list):
            raise BadRequest(f'"{shape.key}" must be a list', shape.key)
        if isinstance(shape.item, Entity):
            return [parse_json_entity(shape.item, item) for item in items]
        return _string_list(Items(shape.key, shape.item), items)
    from lxml import etree

    try:
        root = etree.fromstring(body, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"Malformed XML: {exc}") from None
    if isinstance(shape, Entity):
        if root.tag != shape.root:
            raise BadRequest(f"Expected the root element <{shape.root}>, got <{root.tag}>")
        return parse_xml_entity(shape, root)
    if root.tag != shape.root:
        raise BadRequest(f"Expected the root element <{shape.root}>, got <{root.tag}>")
    if isinstance(shape.item, Entity):
        return [parse_xml_entity(shape.item, el) for el in root if el.tag == shape.item.root]
    return [el.text or "" for el in root if el.tag == shape.item]
