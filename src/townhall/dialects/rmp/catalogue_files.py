"""The export / import file formats: the catalogue as JSON or as CSV.

JSON is one document: `categories`, `types`, `resources` and, with `includeBookings`,
`bookings`, each entry in the shape the API itself answers (a resource as
`GET /resources/{id}` shows it, a booking as `GET /bookings/{id}` plus `createdAt`).
An import also takes a bare list of resources.

CSV is one table whose `record` column says what a row is (`category`, `type`,
`resource`, `booking`); a file without that column holds resources only, which is
what people write by hand. Lists are `;`-separated, a type's `fields` and a resource's
`customFields` are JSON, and any column this format does not know is a custom field
(`8` is read as a number, `true`/`false` as a boolean, anything else as text).

Rows are numbered as a person finds them: within their section for JSON (the first
resource is row 1), by line for CSV (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any, NotRequired, TypedDict

import msgspec

from townhall.domain.models import Booking, ResourceCategory, ResourceType
from townhall.services.catalogue import (
    Export,
    ImportBooking,
    ImportFile,
    ImportRow,
    RowError,
)

from .. import kit, unstorable
from .bookings import BookingWire
from .bookings import render as render_booking
from .http import iso, parse_time
from .models import Body, CategoryBody, CreateType, ResourceBody
from .resources import (
    CategoryWire,
    ResourceWire,
    TypeWire,
    category_list,
    field_specs,
    render,
    render_category,
    render_type,
    resource_input,
)

FORMATS = ("json", "csv")
LIST_SEPARATOR = ";"
CSV_COLUMNS = (
    "record",
    "id",
    "name",
    "type",
    "category",
    "icon",
    "fields",
    "capacity",
    "features",
    "active",
    "customFields",
    "resourceId",
    "title",
    "startTime",
    "endTime",
    "status",
    "organizer",
    "attendees",
    "services",
    "createdAt",
)


class ExportedBooking(TypedDict):
    """A booking as `GET /bookings/{id}` shows it, less `calendarEventId` (this server's
    row, made anew on import), plus `createdAt`."""

    id: str
    resourceId: str
    title: str
    startTime: str
    endTime: str
    status: str
    organizer: str
    attendees: list[str]
    services: list[str]
    createdAt: str


class Exported(TypedDict):
    """The JSON export (the CSV one holds the same records, one a row)."""

    exportedAt: str
    categories: list[CategoryWire]
    types: list[TypeWire]
    resources: list[ResourceWire]
    bookings: NotRequired[list[ExportedBooking]]


class BookingRow(Body):
    id: str
    resource_id: str
    title: str
    start_time: str
    end_time: str
    organizer: str
    status: str = "confirmed"
    attendees: list[str] = []
    services: list[str] = []
    created_at: str | None = None


class RowProblem(Exception):
    """A row this format cannot read; it becomes a row-numbered error of the import."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- export ----------------------------------------------------------------------------


def _category(category: ResourceCategory) -> CategoryWire:
    return render_category(category)


def _booking(booking: Booking) -> ExportedBooking:
    """`calendarEventId` is left out: it is this server's row, made anew on import."""
    shown: BookingWire = render_booking(booking)
    return {
        "id": shown["id"],
        "resourceId": shown["resourceId"],
        "title": shown["title"],
        "startTime": shown["startTime"],
        "endTime": shown["endTime"],
        "status": shown["status"],
        "organizer": shown["organizer"],
        "attendees": shown["attendees"],
        "services": shown["services"],
        "createdAt": iso(booking.created_at),
    }


def to_json(found: Export, include_bookings: bool, now: datetime) -> bytes:
    document: Exported = {
        "exportedAt": iso(now),
        "categories": [_category(c) for c in found.categories],
        "types": [render_type(t) for t in found.types],
        "resources": [render(r) for r in found.resources],
    }
    if include_bookings:
        document["bookings"] = [_booking(b) for b in found.bookings]
    return msgspec.json.encode(document)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True) if value else ""
    return str(value)


def _csv_rows(found: Export, include_bookings: bool) -> Iterator[dict[str, Any]]:
    for category in found.categories:
        yield {"record": "category", **_category(category)}
    for kind in found.types:
        shown = render_type(kind)
        yield {"record": "type", **shown, "fields": json.dumps(shown["fields"])}
    for resource in found.resources:
        yield {"record": "resource", **render(resource)}
    if include_bookings:
        for booking in found.bookings:
            yield {"record": "booking", **_booking(booking)}


def to_csv(found: Export, include_bookings: bool) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in _csv_rows(found, include_bookings):
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue().encode()


# --- import ----------------------------------------------------------------------------


def detect(asked: str | None, filename: str | None, raw: bytes) -> str:
    """The file's format: as asked, else by the file name, else by its first character."""
    if asked:
        if asked.lower() not in FORMATS:
            raise kit.Malformed("format", "must be csv or json")
        return asked.lower()
    suffix = (filename or "").rpartition(".")[2].lower()
    if suffix in FORMATS:
        return suffix
    return "json" if raw.lstrip()[:1] in (b"{", b"[") else "csv"


def read_file(raw: bytes, filename: str | None, asked: str | None = None) -> ImportFile:
    """An uploaded catalogue, JSON or CSV (as asked, else by name, else by content): what
    `POST /admin/import` reads, handed to the web console by the application so that
    both import the same files the same way."""
    kind = detect(asked, filename, raw)
    return read_json(raw) if kind == "json" else read_csv(raw)


def _converted(data: Any, kind: type[Any]) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise RowProblem(kit.wire_path(str(exc)), str(exc)) from None


def _time(raw: str | None, field: str) -> datetime:
    try:
        moment = parse_time(raw, field)
    except kit.Malformed as exc:
        raise RowProblem(field, exc.reason) from None
    assert moment is not None
    return moment


def _type(data: Any) -> tuple[ResourceType, tuple[ResourceCategory, ...]]:
    asked: CreateType = _converted(data, CreateType)
    kind = ResourceType(asked.id, asked.name, asked.category, field_specs(asked.fields))
    return kind, category_list(asked.categories)


def _booking_row(row: int, data: Any) -> ImportBooking:
    asked: BookingRow = _converted(data, BookingRow)
    created = _time(asked.created_at, "createdAt") if asked.created_at else None
    return ImportBooking(
        row=row,
        id=asked.id,
        resource=asked.resource_id,
        title=asked.title,
        starts_at=_time(asked.start_time, "startTime"),
        ends_at=_time(asked.end_time, "endTime"),
        status=asked.status,
        organizer=asked.organizer,
        attendees=tuple(asked.attendees),
        services=tuple(asked.services),
        created_at=created,
    )


class _Reader:
    """Collects what the rows say, and the row-numbered problems of those it cannot read."""

    def __init__(self) -> None:
        self.resources: list[ImportRow] = []
        self.types: list[tuple[int, ResourceType]] = []
        self.categories: list[tuple[int, ResourceCategory]] = []
        self.bookings: list[ImportBooking] = []
        self.malformed: list[RowError] = []

    def take(self, section: str, row: int, read: Callable[[], None]) -> None:
        try:
            read()
        except RowProblem as exc:
            self.malformed.append(RowError(row, exc.field, exc.message, section))

    def resource(self, row: int, data: Any) -> None:
        given = resource_input(_converted(data, ResourceBody))
        self.resources.append(ImportRow(row, given))

    def type(self, row: int, data: Any) -> None:
        kind, categories = _type(data)
        self.types.append((row, kind))
        self.categories.extend((row, c) for c in categories)

    def category(self, row: int, data: Any) -> None:
        given: CategoryBody = _converted(data, CategoryBody)
        self.categories.append((row, ResourceCategory(given.id, given.name, given.icon)))

    def booking(self, row: int, data: Any) -> None:
        self.bookings.append(_booking_row(row, data))

    def file(self) -> ImportFile:
        return ImportFile(
            resources=self.resources,
            types=self.types,
            categories=self.categories,
            bookings=self.bookings,
            malformed=self.malformed,
        )


_SECTIONS = {
    "categories": "category",
    "types": "type",
    "resources": "resource",
    "bookings": "booking",
}


def read_json(raw: bytes) -> ImportFile:
    kit.refuse_deep(raw, "file")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise kit.Malformed("file", f"Malformed JSON: {exc}") from None
    if isinstance(document, list):
        document = {"resources": document}
    kit.refuse_unstorable(document)
    if not isinstance(document, dict):
        raise kit.Malformed("file", "must hold an object or a list")
    reader = _Reader()
    for section, record in _SECTIONS.items():
        entries = document.get(section) or []
        if not isinstance(entries, list):
            raise kit.Malformed(section, "must be a list")
        read = getattr(reader, record)
        for row, data in enumerate(entries, start=1):
            reader.take(section, row, partial(read, row, data))
    return reader.file()


def _scalar(text: str) -> Any:
    """An unknown column's cell: a number or a boolean if it reads as one, else text."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


def _json_cell(text: str, field: str) -> Any:
    if unstorable.too_deep(text.encode()):
        raise RowProblem(field, unstorable.DEPTH_REFUSED)
    try:
        return json.loads(text)
    except ValueError:
        raise RowProblem(field, "is not valid JSON") from None


def _resource_cells(cells: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in cells.items() if k in ("id", "name", "type") and v}
    if cells.get("category"):
        data["category"] = cells["category"]
    if cells.get("capacity"):
        data["capacity"] = _scalar(cells["capacity"])
    if cells.get("features"):
        data["features"] = _split(cells["features"])
    if cells.get("active"):
        data["active"] = _scalar(cells["active"].lower())
    custom = _json_cell(cells["customFields"], "customFields") if cells.get("customFields") else {}
    if not isinstance(custom, dict):
        raise RowProblem("customFields", "must be a JSON object")
    for key, value in cells.items():
        if key not in CSV_COLUMNS and key and value:
            custom[key] = _scalar(value)
    if custom:
        data["customFields"] = custom
    return data


def _type_cells(cells: dict[str, str]) -> dict[str, Any]:
    fields = _json_cell(cells["fields"], "fields") if cells.get("fields") else []
    return {
        "id": cells.get("id", ""),
        "name": cells.get("name", ""),
        "category": cells.get("category", ""),
        "fields": fields,
    }


def _booking_cells(cells: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: cells[key]
        for key in ("id", "resourceId", "title", "startTime", "endTime", "organizer")
        if key in cells
    }
    if cells.get("status"):
        data["status"] = cells["status"]
    if cells.get("createdAt"):
        data["createdAt"] = cells["createdAt"]
    data["attendees"] = _split(cells.get("attendees", ""))
    data["services"] = _split(cells.get("services", ""))
    return data


def _category_cells(cells: dict[str, str]) -> dict[str, Any]:
    return {
        "id": cells.get("id", ""),
        "name": cells.get("name", ""),
        "icon": cells.get("icon") or None,
    }


_CELLS: dict[str, tuple[str, Callable[[dict[str, str]], dict[str, Any]]]] = {
    "category": ("categories", _category_cells),
    "type": ("types", _type_cells),
    "resource": ("resources", _resource_cells),
    "booking": ("bookings", _booking_cells),
}


def read_csv(raw: bytes) -> ImportFile:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise kit.Malformed("file", "must be UTF-8 to be read as CSV") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise kit.Malformed("file", f"line {line} holds a NUL character")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = rows.fieldnames or []
    except csv.Error as exc:
        raise kit.Malformed("file", f"Malformed CSV: {exc}") from None
    if not header:
        raise kit.Malformed("file", "has no header row")
    reader = _Reader()
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            reader.malformed.append(RowError(rows.line_num, "file", f"Malformed CSV: {exc}"))
            break
        _csv_row(reader, rows.line_num, cells)
    return reader.file()


def _csv_row(reader: _Reader, line: int, raw_cells: dict[str | Any, Any]) -> None:
    if None in raw_cells:
        message = "the row has more cells than the header"
        reader.malformed.append(RowError(line, "file", message))
        return
    cells = {k.strip(): (v or "").strip() for k, v in raw_cells.items()}
    if not any(cells.values()):
        return
    record = cells.pop("record", "resource") or "resource"
    if record not in _CELLS:
        message = f"record must be one of {', '.join(_CELLS)}"
        reader.malformed.append(RowError(line, "record", message))
        return
    section, to_data = _CELLS[record]
    read = getattr(reader, record)
    reader.take(section, line, lambda: read(line, to_data(cells)))
