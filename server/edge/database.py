"""One SQL database behind one port: SQLite (WAL) embedded, PostgreSQL for several nodes.

Stores are written once against :class:`Tx`: plain SQL in the subset both engines speak, with
``?`` placeholders, run inside one transaction on the database's own worker thread::

    def _add(tx: Tx, name: str) -> None:
        tx.execute("INSERT INTO schools (id, name) VALUES (?, ?)", (name, name))

    await database.transact(_add, "east")

A transaction commits when the function returns and rolls back when it raises, so a failed
request changes nothing. ``read(fn, *args)`` runs a read-only function on a second connection
and thread, so long reads (a lesson's attendance, an account's history) never queue behind writes
and writes (presence events arriving) never queue behind them; it sees every committed write.

Commits are durable when ``transact`` returns: SQLite runs with ``synchronous=FULL`` (the WAL is
fsynced at every commit), PostgreSQL with its default ``synchronous_commit=on``.

Schemas are versioned migrations (``server/edge/migrations.py``), one :class:`Migrations` per
capability, applied at open in one exclusive transaction; they are written once too, with three
words that differ between the engines: ``{serial}`` (an auto-numbered primary key), ``{blob}``
(bytes) and ``{real}`` (a float).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from server.edge.migrations import Migrations, as_migrations, migrate_in, render_schema

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "Database",
    "IntegrityError",
    "Migrations",
    "PostgresDatabase",
    "Schema",
    "SqliteDatabase",
    "Tx",
    "Unavailable",
    "open_database",
    "render_schema",
]

T = TypeVar("T")
Row = tuple[Any, ...]

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

Schema = Migrations | Sequence[Migrations]
"""What a database holds: one capability's migrations or several (each capability owns its tables)."""
_NAMESPACE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class IntegrityError(Exception):
    """A constraint (unique key, foreign key, check) refused a write; the transaction rolled back."""


class Unavailable(Exception):
    """The database server could not be reached; nothing was written. The next call reconnects."""


class Tx(Protocol):
    """A transaction in progress; only valid inside the function given to ``transact``."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Database(Protocol):
    """The port: open, run functions in transactions, close."""

    dialect: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def transact(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...

    def transact_sync(self, fn: Callable[..., T], *args: Any) -> T: ...


class _Worker:
    """One connection on one thread: statements of a database never interleave."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return self._executor is not None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"{self._name} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def call_sync(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError(f"{self._name} is not open")
        return self._executor.submit(fn, *args).result()

    def stop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class _Engine:
    """Open/close/transact/read over a writer and a reader connection, each on its own thread.

    Subclasses connect (``_connect``/``_connect_reader``), disconnect and run one function in a
    transaction (``_run``) or a read-only one (``_run_read``) on the right connection.
    """

    dialect = ""

    def __init__(self, name: str) -> None:
        self._worker = _Worker(name)
        self._reader = _Worker(f"{name}-read")
        self._conn: Any = None
        self._read_conn: Any = None

    async def open(self) -> None:
        """Connect (migrating the schema) and open the reader; idempotent."""
        if self._worker.running:
            return
        self._worker.start()
        self._reader.start()
        try:
            await self._worker.call(self._connect)
            await self._reader.call(self._connect_reader)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connections and stop the threads; idempotent."""
        if not self._worker.running:
            return
        await self._reader.call(self._disconnect_reader)
        self._reader.stop()
        await self._worker.call(self._disconnect)
        self._worker.stop()

    async def transact(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(tx, *args)`` in one transaction on the writer's thread."""
        return await self._worker.call(self._run, fn, args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(tx, *args)`` in one read-only transaction on the reader's connection."""
        return await self._reader.call(self._run_read, fn, args)

    def transact_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """``transact`` for callers outside the event loop (the CLI, benchmarks)."""
        return self._worker.call_sync(self._run, fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        raise NotImplementedError

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        raise NotImplementedError

    def _connect(self) -> None:
        raise NotImplementedError

    def _connect_reader(self) -> None:
        raise NotImplementedError

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _disconnect_reader(self) -> None:
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())


class SqliteDatabase(_Engine):
    """The embedded engine: one file in WAL mode, fsynced at every commit."""

    dialect = "sqlite"

    def __init__(self, path: Path, schema: Schema, *, name: str = "sqlite") -> None:
        self.path = Path(path)
        super().__init__(name)
        self.migrations = as_migrations(schema)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._read_conn
        assert conn is not None
        conn.execute("BEGIN")
        try:
            return fn(_SqliteTx(conn), *args)
        finally:
            conn.execute("ROLLBACK")

    def _connect_reader(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._read_conn = conn

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(_SqliteTx(conn), *args)
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK")
            raise IntegrityError(str(exc)) from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn
        self._run(migrate_in, (self.migrations,))  # BEGIN IMMEDIATE: one opener migrates at a time


class _PostgresTx:
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(_pg(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(_pg(sql), list(rows))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(_pg(sql), params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(_pg(sql), params).fetchall())


def _pg(sql: str) -> str:
    """``?`` placeholders become psycopg's ``%s`` (our SQL has no other ``?`` or ``%``)."""
    return sql.replace("?", "%s")


class PostgresDatabase(_Engine):
    """The several-node engine: tables live in their own PostgreSQL schema (``namespace``)."""

    dialect = "postgresql"

    def __init__(self, url: str, schema: Schema, *, namespace: str = "classroom", name: str = "postgres") -> None:
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"namespace {namespace!r} must be a lower-case SQL identifier")
        self.url = url
        self.namespace = namespace
        super().__init__(name)
        self.migrations = as_migrations(schema)
        self.application_name = f"classroom-{name}"[:63]

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        import psycopg

        if self._read_conn is None or self._read_conn.broken:
            self._disconnect_reader()
            self._connect_reader()
        try:
            with self._read_conn.transaction():
                return fn(_PostgresTx(self._read_conn), *args)
        except psycopg.OperationalError as exc:
            raise Unavailable(f"the database {self.application_name} is unavailable: {exc}") from exc

    def _connect_reader(self) -> None:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True, application_name=self.application_name)
        conn.execute(f'SET search_path TO "{self.namespace}"'.encode())
        conn.execute(b"SET default_transaction_read_only = on")
        self._read_conn = conn

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        import psycopg

        if self._conn is None or self._conn.broken:  # PostgreSQL restarted: the next request reconnects
            self._disconnect()
            self._connect()
        try:
            with self._conn.transaction():
                return fn(_PostgresTx(self._conn), *args)
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except psycopg.OperationalError as exc:
            raise Unavailable(f"the database {self.application_name} is unavailable: {exc}") from exc

    def _connect(self) -> None:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True, application_name=self.application_name)
        try:
            with conn.transaction():
                # Two nodes starting together must not both migrate: the second waits, then finds it done.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.namespace,))
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.namespace}"')
                conn.execute(f'SET search_path TO "{self.namespace}"')
                migrate_in(_PostgresTx(conn), self.migrations)
        except BaseException:
            conn.close()
            raise
        self._conn = conn


def open_database(url: str | None, sqlite_path: Path, schema: Schema, *, name: str, namespace: str) -> Database:
    """PostgreSQL when ``url`` is a ``postgresql://`` URL, else SQLite at ``sqlite_path``."""
    if url and url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url, schema, namespace=namespace, name=name)
    if url:
        raise ValueError(f"database URL {url!r} must start with postgresql://")
    return SqliteDatabase(sqlite_path, schema, name=name)
