"""The Database port behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from server.edge.database import IntegrityError, Tx, Unavailable
from server.edge.migrations import Migrations
from tests.support.databases import OpenDatabase

ITEMS = """
CREATE TABLE IF NOT EXISTS items (
    id {serial},
    name TEXT NOT NULL UNIQUE,
    weight {real} NOT NULL,
    data {blob}
);
"""
SCHEMA = Migrations("items", (ITEMS,))


def _add(tx: Tx, name: str, weight: float) -> None:
    tx.execute("INSERT INTO items (name, weight, data) VALUES (?, ?, ?)", (name, weight, b"\x00\x01"))


def _names(tx: Tx) -> list[str]:
    return [row[0] for row in tx.all("SELECT name FROM items ORDER BY id")]


async def test_a_transaction_commits_and_rows_read_back(open_db: OpenDatabase) -> None:
    db = await open_db(SCHEMA)
    await db.transact(_add, "bolt", 1.5)
    await db.transact(_add, "nut", 0.25)
    assert await db.transact(_names) == ["bolt", "nut"]
    row = await db.transact(lambda tx: tx.one("SELECT weight, data FROM items WHERE name = ?", ("nut",)))
    assert row is not None and row[0] == 0.25 and bytes(row[1]) == b"\x00\x01"


async def test_a_failed_transaction_changes_nothing(open_db: OpenDatabase) -> None:
    db = await open_db(SCHEMA)

    def add_then_fail(tx: Tx) -> None:
        _add(tx, "gear", 2.0)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.transact(add_then_fail)
    assert await db.transact(_names) == []


async def test_a_unique_violation_is_an_integrity_error_and_rolls_back(open_db: OpenDatabase) -> None:
    db = await open_db(SCHEMA)
    await db.transact(_add, "bolt", 1.0)

    def add_two(tx: Tx) -> None:
        _add(tx, "washer", 1.0)
        _add(tx, "bolt", 1.0)

    with pytest.raises(IntegrityError):
        await db.transact(add_two)
    assert await db.transact(_names) == ["bolt"]


async def test_opening_twice_keeps_the_rows(open_db: OpenDatabase) -> None:
    db = await open_db(SCHEMA)
    await db.transact(_add, "bolt", 1.0)
    await db.open()
    assert await db.transact(_names) == ["bolt"]


async def test_reads_see_committed_writes_and_cannot_write(open_db: OpenDatabase) -> None:
    db = await open_db(SCHEMA)
    await db.transact(_add, "bolt", 1.0)
    assert await db.read(_names) == ["bolt"]
    with pytest.raises(Exception):  # noqa: B017  (sqlite3 and psycopg raise their own read-only errors)
        await db.read(_add, "nut", 1.0)
    assert await db.transact(_names) == ["bolt"]


async def test_a_long_read_does_not_hold_up_writes(open_db: OpenDatabase) -> None:
    import asyncio
    import threading

    db = await open_db(SCHEMA)
    await db.transact(_add, "bolt", 1.0)
    started, release = threading.Event(), threading.Event()

    def slow_read(tx: Tx) -> list[str]:
        names = _names(tx)
        started.set()
        assert release.wait(10), "the write never got through"
        return names

    reading = asyncio.ensure_future(db.read(slow_read))
    assert await asyncio.to_thread(started.wait, 10)
    await db.transact(_add, "nut", 1.0)  # completes while the read is still open
    release.set()
    assert await reading == ["bolt"]  # the read's snapshot began before the write
    assert await db.read(_names) == ["bolt", "nut"]


async def test_postgresql_reconnects_after_the_server_dropped_its_connections(tmp_path: object) -> None:
    import secrets

    import psycopg

    from server.edge.database import PostgresDatabase
    from tests.support.databases import drop_schema, postgres_url

    name = f"reconnect-{secrets.token_hex(4)}"
    db = PostgresDatabase(postgres_url(), SCHEMA, namespace=f"t_{secrets.token_hex(6)}", name=name)
    await db.open()
    try:
        await db.transact(_add, "bolt", 1.0)
        with psycopg.connect(postgres_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                          (db.application_name,))
        with pytest.raises(Unavailable):  # the request in flight learns it (the API answers 503)
            await db.transact(_names)
        with pytest.raises(Unavailable):
            await db.read(_names)
        await db.transact(_add, "nut", 1.0)  # the next ones reconnect
        assert await db.read(_names) == ["bolt", "nut"]
    finally:
        await db.close()
        drop_schema(db.namespace)
