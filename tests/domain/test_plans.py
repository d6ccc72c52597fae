"""The plan catalogue's checks and the day-based proration rule (domain/plans.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.config import load_settings
from townhall.domain import plans


def test_the_default_catalogue_parses() -> None:
    catalogue = plans.load(None)
    standard = catalogue.plan("rmp", "standard")
    assert standard is not None and standard.price_cents == 4999 and standard.max_users == 50
    business = catalogue.plan("email", "business")
    assert business is not None and business.max_storage_bytes == 50 * plans.GB


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({}, "must map each service"),
        ({"rmp": {}}, "service rmp must list"),
        ({"rmp": {"x": {"users": 3}}}, "plan rmp.x: needs a price"),
        ({"rmp": {"x": {"price": "lots"}}}, "plan rmp.x: price must be a number"),
        ({"rmp": {"x": {"price": 1.005}}}, "in whole cents"),
        ({"rmp": {"x": {"price": 1, "users": -1}}}, "plan rmp.x: users"),
        ({"rmp": {"x": {"price": 1, "seats": 3}}}, "unknown keys seats"),
        ({"RMP": {"x": {"price": 1}}}, "no service name"),
    ],
)
def test_a_bad_catalogue_names_the_setting_and_the_entry(raw: object, names: str) -> None:
    with pytest.raises(ValueError) as refused:
        plans.parse(raw)
    assert str(refused.value).startswith(plans.SETTING) and names in str(refused.value)


def test_the_catalogue_may_be_a_table_of_the_configuration_file(tmp_path: Path) -> None:
    config = tmp_path / "townhall.toml"
    config.write_text("[saas_plans.rmp.team]\nprice = 12.5\nusers = 10\n")
    settings = load_settings({"TOWNHALL_CONFIG": str(config)})
    team = plans.load(settings.saas_plans).plan("rmp", "team")
    assert team is not None and team.price_cents == 1250 and team.max_resources is None


def test_a_json_file_is_read_as_json(tmp_path: Path) -> None:
    source = tmp_path / "plans.json"
    source.write_text('{"email": {"basic": {"price": 2, "storage_gb": 0.5}}}')
    basic = plans.load(str(source)).plan("email", "basic")
    assert basic is not None and basic.max_storage_bytes == plans.GB // 2
    with pytest.raises(ValueError, match="TOWNHALL_SAAS_PLANS: cannot read"):
        plans.load(str(tmp_path / "missing.toml"))


def test_charges_are_by_the_day_rounded_half_up() -> None:
    assert plans.charge(3100, 10, 31) == 1000
    assert plans.charge(4999, 15, 30) == 2500  # 2499.5 rounds up
    assert plans.charge(4999, 0, 30) == 0
