"""Ledger fixtures: the two-engine ``open_db`` fixture, a signer, draft factories and a tamperer.

:class:`Tamper` edits the ledger tables behind the store's back through a separate connection
(``sqlite3`` on the database file, ``psycopg`` on the test schema), as an attacker with write access
to the database would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from classroom.ledger.chain import entry_hash, row_leaf
from classroom.ledger.entries import ROW_FIELDS
from server.edge.database import Database, PostgresDatabase, SqliteDatabase
from server.ledger.checkpoints import CheckpointSigner
from tests.support.databases import OpenDatabase, open_db, postgres_url  # noqa: F401

AT = "2026-11-24T10:00:00.000000Z"


def chained_row(seq: int, prev_hash: str, *, key: str = "forged", amount: int = 5000) -> list[Any]:
    """A forged row whose hash is correctly computed after ``prev_hash``."""
    row: list[Any] = [seq, AT, key, "earned", "SW-0666", "east", "", "", amount, None, "", "", "{}", prev_hash]
    row.append(entry_hash(prev_hash, row_leaf(tuple(row)) or b""))
    return row


@pytest.fixture
def signer(tmp_path: Path) -> CheckpointSigner:
    return CheckpointSigner.load_or_create(tmp_path / "keys")


class Tamper:
    """Raw SQL on the ledger tables through a connection of its own."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        conn: Any
        if isinstance(self._db, SqliteDatabase):
            conn = sqlite3.connect(self._db.path)
            try:
                yield conn
                conn.commit()
            finally:
                conn.close()
        else:
            assert isinstance(self._db, PostgresDatabase)
            with psycopg.connect(postgres_url()) as conn:  # commits on leaving the block
                conn.execute(f'SET search_path TO "{self._db.namespace}"')
                yield conn

    def _sql(self, sql: str) -> str:
        return sql if isinstance(self._db, SqliteDatabase) else sql.replace("?", "%s")

    def execute(self, *statements: tuple[str, Sequence[Any]] | str) -> None:
        """Run the statements in one transaction."""
        with self._connection() as conn:
            for statement in statements:
                sql, params = (statement, ()) if isinstance(statement, str) else statement
                conn.execute(self._sql(sql), params)

    def rows(self) -> list[list[Any]]:
        """Every ledger row, in ``ROW_FIELDS`` order, by seq."""
        with self._connection() as conn:
            cursor = conn.execute(f"SELECT {', '.join(ROW_FIELDS)} FROM ledger_entries ORDER BY seq")
            return [list(row) for row in cursor.fetchall()]

    def insert(self, row: Sequence[Any]) -> None:
        marks = ", ".join("?" for _ in ROW_FIELDS)
        self.execute((f"INSERT INTO ledger_entries ({', '.join(ROW_FIELDS)}) VALUES ({marks})", list(row)))
