"""The lesson's training event log: accepted commands, broadcast patches, snapshots and the lesson's
own events (chat, stage, presence, markers); the ``training_events`` table and its queries.

``EventLog`` is the port; ``SqlEventLog`` the implementation over the ``Database`` port (SQLite
embedded, PostgreSQL for several nodes). Appends are group-committed: callers queue their rows and
await; one writer task commits everything queued so far in one durable (fsynced) transaction and
only then answers them, so twenty patches a second from every lesson cost a few fsyncs and nothing
acknowledged is lost. Recordings read it back by lesson and time through the ``*_in`` functions
below (``server/replay/timeline.py``); no other module writes SQL against this table.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.edge.database import Database, Tx
from server.edge.group_commit import GroupCommit
from server.edge.migrations import Migrations
from server.edge.wire_json import dumps

__all__ = [
    "TRAINING_SCHEMA",
    "Event",
    "EventLog",
    "SqlEventLog",
    "delete_events_in",
    "events_in",
    "last_snapshot_in",
    "patches_after_in",
    "timeline_rows_in",
]

log = logging.getLogger(__name__)

MAX_QUEUED_BATCHES = 10_000


@dataclass(frozen=True)
class Event:
    lesson_id: str
    at: float  # server wall clock, seconds since the epoch
    kind: str  # "command" | "patch" | "snapshot", or a lesson kind (server/replay/timeline.py)
    revision: int
    body: dict[str, Any]


class EventLog(Protocol):
    async def open(self) -> None: ...
    async def append(self, events: Sequence[Event]) -> None: ...
    async def read(self, lesson_id: str, since: float = 0.0, until: float = float("inf")) -> list[Event]: ...
    async def close(self) -> None: ...


_TRAINING_V1 = """
CREATE TABLE IF NOT EXISTS training_events (
    lesson_id TEXT NOT NULL,
    seq {serial},
    at {real} NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS training_events_by_lesson ON training_events (lesson_id, at);
"""
_TRAINING_V2 = """
CREATE INDEX IF NOT EXISTS training_events_snapshots ON training_events (lesson_id, at) WHERE kind = 'snapshot';
CREATE INDEX IF NOT EXISTS training_events_timeline ON training_events (lesson_id, at)
    WHERE kind NOT IN ('snapshot', 'patch')
"""
TRAINING_SCHEMA = Migrations("training", (_TRAINING_V1, _TRAINING_V2))
"""Version 1: the table as the SQLite log created it before migrations. Version 2: two partial
indexes, snapshots alone (``state_at`` finds the last one in one probe) and the timeline kinds alone
(a window of chat never walks the ~20 patches per second around it); before migrations the
timeline created them when it opened."""

_INSERT = "INSERT INTO training_events (lesson_id, at, kind, revision, body) VALUES (?, ?, ?, ?, ?)"
_MAX_AT = 1e18
"""Bounds are kept finite: both engines then compare them like any stored time."""

Row = tuple[str, float, str, int, str]


def _rows(events: Sequence[Event]) -> list[Row]:
    return [(e.lesson_id, e.at, e.kind, e.revision, dumps(e.body)) for e in events]


def _insert_in(tx: Tx, rows: list[Row]) -> None:
    tx.executemany(_INSERT, rows)


def events_in(tx: Tx, lesson_id: str, since: float, until: float) -> list[Event]:
    """The lesson's events with ``since <= at <= until`` in log order."""
    rows = tx.all("SELECT at, kind, revision, body FROM training_events WHERE lesson_id = ? AND at >= ? AND at <= ?"
                  " ORDER BY seq", (lesson_id, since, min(until, _MAX_AT)))
    return [Event(lesson_id, at, kind, revision, json.loads(body)) for at, kind, revision, body in rows]


def timeline_rows_in(tx: Tx, lesson_id: str, since: float, until: float, kinds: tuple[str, ...],
                     limit: int | None) -> list[tuple[float, str, str]]:
    """(at, kind, body) of the lesson's non-line events of ``kinds`` in ``[since, until]``, log order."""
    marks = ",".join("?" * len(kinds))
    # The literal "kind NOT IN ('snapshot', 'patch')" lets the engines use the partial index.
    query = (f"SELECT at, kind, body FROM training_events WHERE lesson_id = ? AND at >= ? AND at <= ?"
             f" AND kind NOT IN ('snapshot', 'patch') AND kind IN ({marks}) ORDER BY at, seq")
    params: list[Any] = [lesson_id, since, until, *kinds]
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return [(float(at), str(kind), str(body)) for at, kind, body in tx.all(query, params)]


def last_snapshot_in(tx: Tx, lesson_id: str, t_wall: float) -> tuple[int, float, int, str] | None:
    """(seq, at, revision, body) of the lesson's last snapshot at or before ``t_wall``."""
    row = tx.one("SELECT seq, at, revision, body FROM training_events WHERE lesson_id = ? AND kind = 'snapshot'"
                 " AND at <= ? ORDER BY at DESC, seq DESC LIMIT 1", (lesson_id, t_wall))
    return None if row is None else (int(row[0]), float(row[1]), int(row[2]), str(row[3]))


def patches_after_in(tx: Tx, lesson_id: str, seq: int, since: float, until: float) -> list[tuple[int, str]]:
    """(revision, body) of the lesson's patches logged after ``seq`` with ``since <= at <= until``."""
    rows = tx.all("SELECT revision, body FROM training_events WHERE lesson_id = ? AND at >= ? AND at <= ?"
                  " AND kind = 'patch' AND seq > ? ORDER BY seq", (lesson_id, since, until, seq))
    return [(int(revision), str(body)) for revision, body in rows]


def delete_events_in(tx: Tx, lesson_id: str, start: float, end: float,
                     keep: tuple[tuple[float, float], ...]) -> int:
    """Delete the lesson's rows with ``start <= at <= end`` outside every ``keep`` window; how many."""
    where = "lesson_id = ? AND at >= ? AND at <= ?"
    params: list[Any] = [lesson_id, start, end]
    for keep_start, keep_end in keep:
        where += " AND NOT (at >= ? AND at <= ?)"
        params += [keep_start, keep_end]
    return len(tx.all(f"DELETE FROM training_events WHERE {where} RETURNING seq", params))


@dataclass
class _Batch:
    rows: list[Row]
    done: asyncio.Future[None]


class SqlEventLog:
    """The training log over its own ``Database`` (opened and closed with the log), group-committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._group: GroupCommit[_Batch] = GroupCommit("training log", self._commit, MAX_QUEUED_BATCHES)
        self.commits = 0
        """transactions the writer committed (each answers every append queued before it)"""

    async def open(self) -> None:
        await self.db.open()
        self._group.start()

    async def close(self) -> None:
        """Commit what is queued, stop the writer, close the database; idempotent."""
        await self._group.stop()
        await self.db.close()

    async def append(self, events: Sequence[Event]) -> None:
        """Durably append ``events`` (committed when this returns); a body with a non-finite number
        raises ValueError and nothing is stored."""
        if not events:
            return
        rows = _rows(events)
        if not self._group.running:
            raise RuntimeError("the training log is not open")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._group.enqueue(_Batch(rows, future))
        await future

    async def read(self, lesson_id: str, since: float = 0.0, until: float = float("inf")) -> list[Event]:
        """The lesson's events in ``[since, until]`` in log order, after every append queued so far."""
        await self._group.flush()
        return await self.db.read(events_in, lesson_id, since, until)

    async def _commit(self, batches: list[_Batch]) -> None:
        try:
            await self.db.transact(_insert_in, [row for batch in batches for row in batch.rows])
            self.commits += 1
        except Exception as exc:
            if len(batches) > 1:  # one batch may be the cause: the others must not fail with it
                for batch in batches:
                    await self._commit([batch])
                return
            log.exception("training events not written rows=%d", len(batches[0].rows))
            _answer(batches, exc)
            return
        _answer(batches, None)


def _answer(batches: list[_Batch], error: Exception | None) -> None:
    for batch in batches:
        if batch.done.done():
            continue
        if error is None:
            batch.done.set_result(None)
        else:
            batch.done.set_exception(error)
