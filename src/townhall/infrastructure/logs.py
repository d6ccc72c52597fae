"""Logs: one line per record, readable text by default or one JSON object per line
(`TOWNHALL_LOG_FORMAT=json`), so log shippers need no parsing rules.

The access log (logger `townhall.access`, one line per request, web/edge.py) passes
its fields as the record's arguments in `ACCESS_FIELDS` order: the text line is its
format string filled in, and the JSON object has each field under its name (numbers as
numbers), without building a dictionary per request for the text case.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec

ACCESS_LOGGER = "townhall.access"
ACCESS_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "api",
    "principal",
    "request_id",
    "path",
)
ACCESS_LINE = "%s %s %d %.1fms api=%s principal=%s request_id=%s path=%s"
"""The access line's format: its arguments are the values of ACCESS_FIELDS."""
FORMATS = ("text", "json")


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`<time> <level> <logger> <message>`, then any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_time(record)} {record.levelname.lower()} {record.name} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args
        if record.name == ACCESS_LOGGER and isinstance(args, tuple):
            entry.update(zip(ACCESS_FIELDS, args, strict=False))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry).decode()


def configure(level: str, style: str = "text") -> None:
    """Every record to standard error, in `style` (`text` or `json`; a ValueError
    naming the setting otherwise)."""
    if style not in FORMATS:
        raise ValueError(f"log_format must be one of {', '.join(FORMATS)}, not {style!r}")
    # What neither format prints is not gathered for every record (the logging HOWTO's
    # "Optimization"): the caller's frame walk alone was a fifth of an access line.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if style == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosmtpd tells each SMTP connection's every step at info (six lines for the
    # readiness probe's QUIT alone); its warnings stay, and all of it at debug.
    logging.getLogger("mail.log").setLevel(
        logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    )
