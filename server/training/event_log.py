"""The lesson's training event log: accepted commands, broadcast patches and snapshots.

``EventLog`` is the port; ``SqliteEventLog`` the embedded implementation (WAL, one
writer thread, appends batched in order). Recordings read it back by lesson and time.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from server.wire_json import dumps

__all__ = ["TABLE_SCHEMA", "Event", "EventLog", "SqliteEventLog"]


@dataclass(frozen=True)
class Event:
    lesson_id: str
    at: float  # server wall clock, seconds since the epoch
    kind: str  # "command" | "patch" | "snapshot"
    revision: int
    body: dict[str, Any]


class EventLog(Protocol):
    async def open(self) -> None: ...
    async def append(self, events: Sequence[Event]) -> None: ...
    async def read(self, lesson_id: str, since: float = 0.0, until: float = float("inf")) -> list[Event]: ...
    async def close(self) -> None: ...


TABLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS training_events (
    lesson_id TEXT NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS training_events_by_lesson ON training_events (lesson_id, at);
"""


class SqliteEventLog:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="training-log")
        self._db: sqlite3.Connection | None = None

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def open(self) -> None:
        if self._db is None:
            await self._run(self._open)

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(TABLE_SCHEMA)
        self._db = db

    async def append(self, events: Sequence[Event]) -> None:
        """Append ``events``; a body with a non-finite number raises ValueError and nothing is stored."""
        if events:
            rows = [(e.lesson_id, e.at, e.kind, e.revision, dumps(e.body)) for e in events]
            await self._run(self._append, rows)

    def _append(self, rows: list[tuple[str, float, str, int, str]]) -> None:
        assert self._db is not None
        with self._db:
            self._db.executemany(
                "INSERT INTO training_events (lesson_id, at, kind, revision, body) VALUES (?, ?, ?, ?, ?)", rows)

    async def read(self, lesson_id: str, since: float = 0.0, until: float = float("inf")) -> list[Event]:
        rows = await self._run(self._read, lesson_id, since, until)
        return [Event(lesson_id, at, kind, revision, json.loads(body)) for at, kind, revision, body in rows]

    def _read(self, lesson_id: str, since: float, until: float) -> list[tuple[float, str, int, str]]:
        assert self._db is not None
        return self._db.execute(
            "SELECT at, kind, revision, body FROM training_events WHERE lesson_id = ? AND at >= ? AND at <= ? "
            "ORDER BY seq", (lesson_id, since, min(until, 1e18))).fetchall()

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)
