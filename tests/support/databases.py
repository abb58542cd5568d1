"""Contract-test databases: every store test runs against SQLite and against a real PostgreSQL.

PostgreSQL is found at ``DATABASE_URL`` (default: the local server, database ``test``); each test
gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import psycopg
import pytest

from server.edge.database import DEFAULT_POSTGRES_URL, Database, PostgresDatabase, Schema, SqliteDatabase

OpenDatabase = Callable[[Schema], Awaitable[Database]]
ENGINES = ["sqlite", "postgresql"]


def postgres_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def open_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenDatabase]:
    """``await open_db(schema)``: an open Database of the parametrised engine, closed afterwards."""
    opened: list[Database] = []
    namespaces: list[str] = []

    async def open_one(schema: Schema) -> Database:
        db = new_database(request.param, tmp_path / f"db-{len(opened)}.sqlite", schema)
        if isinstance(db, PostgresDatabase):
            namespaces.append(db.namespace)
        await db.open()
        opened.append(db)
        return db

    yield open_one
    for db in opened:
        await db.close()
    for namespace in namespaces:
        drop_schema(namespace)


def drop_schema(namespace: str) -> None:
    """Drop a test's PostgreSQL schema and everything in it."""
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE'.encode())


def new_database(engine: str, sqlite_path: Path, schema: Schema, *, name: str = "test-db") -> Database:
    """A Database of ``engine`` (not opened): SQLite at ``sqlite_path`` or a fresh PostgreSQL schema
    (drop it with ``drop_database``)."""
    if engine == "sqlite":
        return SqliteDatabase(sqlite_path, schema, name=name)
    return PostgresDatabase(postgres_url(), schema, namespace=f"t_{secrets.token_hex(6)}", name=name)


def same_database(db: Database, schema: Schema, *, name: str = "test-db-2") -> Database:
    """Another Database over the same tables as ``db`` (another node, or the next run)."""
    if isinstance(db, SqliteDatabase):
        return SqliteDatabase(db.path, schema, name=name)
    assert isinstance(db, PostgresDatabase)
    return PostgresDatabase(db.url, schema, namespace=db.namespace, name=name)


async def drop_database(db: Database) -> None:
    """Close ``db``; on PostgreSQL drop its schema too."""
    await db.close()
    if isinstance(db, PostgresDatabase):
        drop_schema(db.namespace)
