"""Versioned migrations behave the same on SQLite and PostgreSQL: applied once, in order, at open."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.edge.database import SqliteDatabase, Tx
from server.edge.migrations import Migrations, SchemaTooNew, applied_versions_in
from tests.support.databases import OpenDatabase, same_database

V1 = "CREATE TABLE parts (id {serial}, name TEXT NOT NULL)"
V2 = "ALTER TABLE parts ADD COLUMN weight {real}"


def _seed_weights(tx: Tx) -> None:
    tx.execute("UPDATE parts SET weight = 1.5 WHERE weight IS NULL")


def _add(tx: Tx, name: str) -> None:
    tx.execute("INSERT INTO parts (name) VALUES (?)", (name,))


def _parts(tx: Tx) -> list[tuple[str, float | None]]:
    return [(row[0], row[1]) for row in tx.all("SELECT name, weight FROM parts ORDER BY id")]


async def test_a_fresh_database_records_every_capability_at_its_version(open_db: OpenDatabase) -> None:
    db = await open_db([Migrations("parts", (V1, V2)), Migrations("other", ("CREATE TABLE other (x TEXT)",))])
    assert await db.read(applied_versions_in) == {"parts": 2, "other": 1}


async def test_a_later_step_runs_once_on_a_database_made_before_it(open_db: OpenDatabase) -> None:
    db = await open_db(Migrations("parts", (V1,)))
    await db.transact(_add, "bolt")
    await db.close()
    upgraded = same_database(db, Migrations("parts", (V1, V2, _seed_weights)))
    await upgraded.open()
    try:
        assert await upgraded.read(_parts) == [("bolt", 1.5)]
        await upgraded.transact(_add, "nut")
        assert await upgraded.read(applied_versions_in) == {"parts": 3}
    finally:
        await upgraded.close()
    reopened = same_database(db, Migrations("parts", (V1, V2, _seed_weights)))
    await reopened.open()  # nothing to apply: "nut" keeps its NULL weight
    try:
        assert await reopened.read(_parts) == [("bolt", 1.5), ("nut", None)]
    finally:
        await reopened.close()


async def test_a_database_ahead_of_the_code_is_refused(open_db: OpenDatabase) -> None:
    db = await open_db(Migrations("parts", (V1, V2)))
    await db.close()
    older = same_database(db, Migrations("parts", (V1,)))
    with pytest.raises(SchemaTooNew, match="parts version 2"):
        await older.open()


async def test_a_failing_step_leaves_the_database_as_it_was(open_db: OpenDatabase) -> None:
    db = await open_db(Migrations("parts", (V1,)))
    await db.transact(_add, "bolt")
    await db.close()
    broken = same_database(db, Migrations("parts", (V1, V2, "ALTER TABLE no_such_table ADD COLUMN x TEXT")))
    with pytest.raises(Exception, match="no_such_table"):
        await broken.open()
    reopened = same_database(db, Migrations("parts", (V1,)))
    await reopened.open()
    try:
        assert await reopened.read(_names) == ["bolt"]
        assert await reopened.read(applied_versions_in) == {"parts": 1}
    finally:
        await reopened.close()


def _names(tx: Tx) -> list[str]:
    return [row[0] for row in tx.all("SELECT name FROM parts ORDER BY id")]


async def test_nodes_starting_together_migrate_once(open_db: OpenDatabase) -> None:
    """The step has no IF NOT EXISTS: running it twice would fail the second opener."""
    first = await open_db(Migrations("base", ("CREATE TABLE base (x TEXT)",)))
    await first.close()
    schema = [Migrations("base", ("CREATE TABLE base (x TEXT)",)), Migrations("parts", (V1, V2))]
    nodes = [same_database(first, schema, name=f"node-{n}") for n in range(4)]
    try:
        await asyncio.gather(*(node.open() for node in nodes))
        for node in nodes:
            assert await node.read(applied_versions_in) == {"base": 1, "parts": 2}
    finally:
        for node in nodes:
            await node.close()


def test_a_capability_named_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="named twice"):
        SqliteDatabase(tmp_path / "unused.db", [Migrations("a", (V1,)), Migrations("a", (V2,))])
