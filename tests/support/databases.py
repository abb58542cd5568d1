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

from server.sql.database import DEFAULT_POSTGRES_URL, Database, PostgresDatabase, SqliteDatabase

OpenDatabase = Callable[[str], Awaitable[Database]]


def postgres_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def open_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenDatabase]:
    """``await open_db(schema)``: an open Database of the parametrised engine, closed afterwards."""
    opened: list[Database] = []
    namespaces: list[str] = []

    async def open_one(schema: str) -> Database:
        db: Database
        if request.param == "sqlite":
            db = SqliteDatabase(tmp_path / f"db-{len(opened)}.sqlite", schema)
        else:
            namespace = f"t_{secrets.token_hex(6)}"
            namespaces.append(namespace)
            db = PostgresDatabase(postgres_url(), schema, namespace=namespace)
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
