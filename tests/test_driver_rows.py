"""Hot reads on the driver itself (store/database.py `driver_rows`): the same rows as
SQLAlchemy's path on both databases, and a statement whose values need SQLAlchemy's
type handling is refused rather than read wrong."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from tests.conftest import unique
from townhall.domain.principal import Principal
from townhall.services.container import Services
from townhall.services.people import NewPerson
from townhall.store.database import compiled_for
from townhall.store.schema import users

_BY_NAME = select(users.c.id, users.c.username, users.c.email).where(
    users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username")
)


async def test_driver_rows_match_what_sqlalchemy_reads(services: Services) -> None:
    tenant = await services.tenants.first()
    name = unique("raw")
    await services.people.create(
        Principal.system(tenant, "tester"), NewPerson(name, "pw-123456", email=f"{name}@x.org")
    )
    params = {"tenant_id": tenant.id, "username": name}
    async with services.deps.db.read() as tx:
        raw = await tx.driver_rows(_BY_NAME, params)
        through = (await tx.execute(_BY_NAME, params)).all()
    assert [tuple(r) for r in raw] == [tuple(r) for r in through]
    assert raw[0][1:] == (name, f"{name}@x.org")
    async with services.deps.db.write() as tx:  # inside a write transaction too
        assert [tuple(r) for r in await tx.driver_rows(_BY_NAME, params)] == [tuple(raw[0])]
    async with services.deps.db.read() as tx:
        assert await tx.driver_rows(_BY_NAME, {**params, "username": unique("nobody")}) == []


async def test_a_column_that_needs_type_handling_is_refused(services: Services) -> None:
    """Timestamps (stored in UTC, read back aware) are SQLAlchemy's to read on both
    databases; JSON too on SQLite (asyncpg decodes it itself)."""
    needing = [users.c.created_at]
    if services.deps.db.url.startswith("sqlite"):
        needing.append(users.c.asset_classes)
    dialect = services.deps.db.engine.dialect  # type: ignore[attr-defined]
    for column in needing:
        stmt = select(users.c.username, column).where(users.c.id == bindparam("id"))
        with pytest.raises(ValueError, match="needs processing"):
            compiled_for(stmt, dialect)
    compiled_for(_BY_NAME, dialect)  # text and integers are the driver's


async def test_json_reads_the_same_on_the_driver_on_postgresql(services: Services) -> None:
    """asyncpg decodes JSON itself (SQLAlchemy's dialect sets its codecs, and so does the
    driver's own pool), so a JSON column may be read on the driver there, alike."""
    if services.deps.db.url.startswith("sqlite"):
        pytest.skip("SQLite's JSON needs SQLAlchemy's processing: refused above")
    tenant = await services.tenants.first()
    name = unique("rawjson")
    await services.people.create(Principal.system(tenant, "tester"), NewPerson(name, "pw-123456"))
    async with services.deps.db.write() as tx:
        await tx.execute(
            users.update().where(users.c.username == name).values(asset_classes=["fx", "rates"])
        )
    stmt = select(users.c.username, users.c.asset_classes).where(
        users.c.tenant_id == bindparam("tenant_id"), users.c.username == bindparam("username")
    )
    params = {"tenant_id": tenant.id, "username": name}
    async with services.deps.db.read() as tx:
        raw = await tx.driver_rows(stmt, params)
        through = (await tx.execute(stmt, params)).all()
    assert [tuple(r) for r in raw] == [tuple(r) for r in through] == [(name, ["fx", "rates"])]
