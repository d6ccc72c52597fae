"""The plan catalogue: which services a customer may subscribe to, at what price, with
which limits; and the day-based proration rule invoices follow.

The operator writes the catalogue (settings `saas_plans`: a TOML or JSON file, or a TOML
table in the configuration file); without one the deployment sells `DEFAULT`. It is
checked once, at start, so a typo stops the server with an error naming the setting
instead of failing a customer's registration later.

A catalogue maps a service (`rmp`, `email`, `storage`, ...) to its plans, each with a
monthly price and optional limits: `users`, `resources` (counts) and `storage_gb`.
A limit a plan does not state is no limit. Prices are kept in cents (integers), so
invoices add up exactly.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

SETTING = "TOWNHALL_SAAS_PLANS"
"""The setting that names the catalogue (in errors, so the operator knows what to fix)."""
LIMITS = ("users", "resources", "storage")
"""What a plan may limit: people, bookable resources, stored bytes."""
GB = 1024**3
_KEYS = {"price", "users", "resources", "storage_gb", "description"}

DEFAULT: dict[str, dict[str, dict[str, Any]]] = {
    "rmp": {
        "free": {"price": 0, "users": 5, "resources": 10},
        "standard": {"price": 49.99, "users": 50, "resources": 100},
        "enterprise": {"price": 199.99, "users": 500, "resources": 1000},
    },
    "email": {
        "basic": {"price": 4.99, "storage_gb": 10},
        "business": {"price": 9.99, "storage_gb": 50},
    },
    "storage": {"standard": {"price": 5.00, "storage_gb": 100}},
}
"""What a deployment sells when the operator configures nothing."""


@dataclass(frozen=True, slots=True)
class Plan:
    service: str
    name: str
    price_cents: int
    """Per month."""
    max_users: int | None = None
    max_resources: int | None = None
    max_storage_bytes: int | None = None

    def limit(self, what: str) -> int | None:
        return {
            "users": self.max_users,
            "resources": self.max_resources,
            "storage": self.max_storage_bytes,
        }[what]


@dataclass(frozen=True, slots=True)
class Catalogue:
    plans: Mapping[str, Mapping[str, Plan]]

    def plan(self, service: str, name: str) -> Plan | None:
        return self.plans.get(service, {}).get(name)


def load(source: str | Mapping[str, Any] | None) -> Catalogue:
    """The catalogue `source` names: None (the default), a table already read from the
    configuration file, or the path of a `.toml` or `.json` file. ValueError naming
    the setting and the faulty entry otherwise."""
    if source is None or source == "":
        return parse(DEFAULT)
    if isinstance(source, Mapping):
        return parse(source)
    path = Path(source)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"{SETTING}: cannot read {path}: {exc.strerror}") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{SETTING}: {path} is not valid {path.suffix or 'TOML'}: {exc}") from None
    return parse(raw)


def parse(raw: Any) -> Catalogue:
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"{SETTING}: must map each service to its plans")
    plans: dict[str, dict[str, Plan]] = {}
    for service, offered in raw.items():
        if not _name_ok(service):
            raise ValueError(f"{SETTING}: {service!r} is no service name (a-z, 0-9, -, _)")
        if not isinstance(offered, Mapping) or not offered:
            raise ValueError(f"{SETTING}: service {service} must list at least one plan")
        plans[service] = {}
        for name, entry in offered.items():
            where = f"{SETTING}: plan {service}.{name}"
            if not _name_ok(name):
                raise ValueError(f"{where}: the name must be a-z, 0-9, - or _")
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where}: must be a table of price and limits")
            unknown = set(entry) - _KEYS
            if unknown:
                raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
            if "price" not in entry:
                raise ValueError(f"{where}: needs a price")
            plans[service][name] = Plan(
                service,
                name,
                _cents(entry["price"], where),
                _count(entry.get("users"), f"{where}: users"),
                _count(entry.get("resources"), f"{where}: resources"),
                _storage(entry.get("storage_gb"), f"{where}: storage_gb"),
            )
    return Catalogue(plans)


def _name_ok(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 40
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
        and name == name.lower()
    )


def _cents(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{where}: price must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}: price must be a number") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{where}: price must be at least 0, in whole cents")
    return int(amount * 100)


def _count(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where} must be a whole number, at least 0")
    return value


def _storage(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{where} must be a number of GB, at least 0")
    return int(Decimal(str(value)) * GB)


# -- invoices ----------------------------------------------------------------------------


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def charge(price_cents: int, days: int, days_in_period: int) -> int:
    """The day-based share of a monthly price, rounded half up to a cent."""
    exact = Decimal(price_cents) * days / days_in_period
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def days_between(start: datetime | date, end: datetime | date) -> int:
    """Whole days from `start`'s day to `end`'s day: the day of a change belongs to the
    plan that starts on it (so a plan that began and ended on one day is charged nothing
    and the last plan of a day is charged for the day)."""
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    return max(0, (last - first).days)


def cents_text(cents: int) -> float:
    """Cents as the reference's money numbers (49.99)."""
    return float(Decimal(cents) / 100)
