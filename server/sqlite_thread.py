"""One SQLite connection (WAL) used from one worker thread: the plumbing of the embedded stores.

sqlite3 blocks, so every statement runs on the store's own thread, in order, and the
event loop only awaits the result.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["SqliteThread"]

T = TypeVar("T")


class SqliteThread:
    def __init__(self, path: Path, schema: str, name: str) -> None:
        self.path = Path(path)
        self._schema = schema
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._executor is not None

    async def open(self) -> None:
        """Connect and create the schema; idempotent."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name.replace(" ", "-"))
        await self.run(self._connect)

    async def close(self) -> None:
        """Close the connection and stop the thread; idempotent."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
        executor.shutdown(wait=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the store's thread."""
        if self._executor is None:
            raise RuntimeError(f"{self._name} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def db(self) -> sqlite3.Connection:
        """The connection; only from functions passed to ``run``."""
        assert self._conn is not None, f"{self._name} is not open"
        return self._conn

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(self._schema)
        self._conn = conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
