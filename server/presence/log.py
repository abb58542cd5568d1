"""The presence log: every presence event appended once, never edited, keyed for idempotency.

Writers hand batches to :meth:`PresenceLog.append` and await the outcome; one writer task commits
everything queued so far in one transaction (group commit), so thousands of events per second
cost a few fsyncs. The same key with the same content answers ``"exists"``; the same key with
other content fails that batch alone with :class:`EventKeyConflict` (other batches of the same
commit are unaffected).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from classroom.attendance import PresenceEvent, PresenceKind
from classroom.errors import Conflict, ValidationError
from server.edge.database import Database, Tx
from server.edge.group_commit import GroupCommit
from server.edge.migrations import Migrations

__all__ = ["MAX_KEY_CHARS", "PRESENCE_SCHEMA", "EventKeyConflict", "PresenceLog", "events_in", "last_presence_in",
           "lessons_of_classroom_in", "lessons_of_student_in"]

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 200
MAX_QUEUED_BATCHES = 10_000

_PRESENCE_V1 = """
CREATE TABLE IF NOT EXISTS presence_events (
    id {serial},
    key TEXT NOT NULL UNIQUE,
    lesson TEXT NOT NULL,
    kind TEXT NOT NULL,
    at {real} NOT NULL,
    classroom TEXT NOT NULL,
    session TEXT NOT NULL,
    student TEXT NOT NULL,
    source TEXT NOT NULL,
    rollcall TEXT NOT NULL,
    author TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS presence_events_by_lesson ON presence_events (lesson, id);
CREATE INDEX IF NOT EXISTS presence_events_by_student ON presence_events (student, lesson);
CREATE TABLE IF NOT EXISTS presence_requests (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL
);
"""
PRESENCE_SCHEMA = Migrations("presence", (_PRESENCE_V1,))
"""The presence tables, as versioned migrations (version 1: the tables as they were before migrations)."""

_COLUMNS = "key, lesson, kind, at, classroom, session, student, source, rollcall, author"
_INSERT = f"INSERT INTO presence_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_KEY_CHUNK = 500


class EventKeyConflict(Conflict):
    """An idempotency key was reused for different content."""


Request = tuple[str, str]
"""(request key, digest of the request's content): a request retried with other content is refused."""


@dataclass
class _Batch:
    rows: list[tuple[object, ...]]
    done: asyncio.Future[list[str]]
    request: Request | None = None


Outcome = dict[int, list[str] | Exception]
"""Per batch index of one commit: "created"/"exists" for each event, or why the batch was refused."""


def _row(event: PresenceEvent, author: str) -> tuple[object, ...]:
    if not event.key or len(event.key) > MAX_KEY_CHARS:
        raise ValidationError(f"an event key is 1 to {MAX_KEY_CHARS} characters")
    return (event.key, event.lesson, event.kind.value, float(event.at), event.classroom, event.session,
            event.student, event.source, event.rollcall, author)


def _existing(tx: Tx, keys: Sequence[str]) -> dict[str, tuple[object, ...]]:
    found: dict[str, tuple[object, ...]] = {}
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start:start + _KEY_CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in tx.all(f"SELECT {_COLUMNS} FROM presence_events WHERE key IN ({marks})", chunk):
            found[row[0]] = tuple(row)
    return found


_CONTENT = (0, 1, 2, 4, 5, 6, 7, 8)
"""Columns that make an event's content: not its time (a retry arrives later) nor its author."""


def _same(stored: tuple[object, ...], row: tuple[object, ...]) -> bool:
    return all(stored[i] == row[i] for i in _CONTENT)


def _request_conflict(tx: Tx, request: Request | None, staged: dict[str, str]) -> EventKeyConflict | None:
    if request is None:
        return None
    key, digest = request
    row = tx.one("SELECT digest FROM presence_requests WHERE key = ?", (key,))
    stored = staged.get(key) or (row[0] if row else None)
    if stored is not None and stored != digest:
        return EventKeyConflict(f"idempotency key {key!r} was used for a different request")
    staged[key] = digest
    return None


def _write_batches(tx: Tx, batches: Sequence[tuple[list[tuple[object, ...]], Request | None]]) -> Outcome:
    """Insert what is new; per batch, "created"/"exists" for each row or the conflict."""
    existing = _existing(tx, sorted({str(row[0]) for rows, _request in batches for row in rows}))
    outcome: Outcome = {}
    fresh: list[tuple[object, ...]] = []
    requests: dict[str, str] = {}
    for index, (rows, request) in enumerate(batches):
        conflict = _request_conflict(tx, request, requests)
        if conflict is not None:
            outcome[index] = conflict
            continue
        results: list[str] = []
        staged: dict[str, tuple[object, ...]] = {}
        for row in rows:
            key = str(row[0])
            before = existing.get(key) or staged.get(key)
            if before is not None and not _same(before, row):
                outcome[index] = EventKeyConflict(f"event key {key!r} was used for a different event")
                break
            results.append("exists" if before is not None else "created")
            staged.setdefault(key, row)
        else:
            new = [row for key, row in staged.items() if key not in existing]
            fresh.extend(new)
            existing.update((str(row[0]), row) for row in new)
            outcome[index] = results
    tx.executemany(_INSERT, fresh)
    tx.executemany("INSERT INTO presence_requests (key, digest) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                   [(key, digest) for key, digest in requests.items()])
    return outcome


def events_in(tx: Tx, lesson: str) -> list[PresenceEvent]:
    rows = tx.all(f"SELECT {_COLUMNS} FROM presence_events WHERE lesson = ? ORDER BY id", (lesson,))
    return [_event(row) for row in rows]


def last_presence_in(tx: Tx, lesson: str, student: str) -> tuple[int, PresenceEvent | None]:
    """How many events of ``lesson`` name ``student``, and the latest of them."""
    count = tx.one("SELECT COUNT(*) FROM presence_events WHERE lesson = ? AND student = ?", (lesson, student))
    row = tx.one(f"SELECT {_COLUMNS} FROM presence_events WHERE lesson = ? AND student = ? ORDER BY id DESC LIMIT 1",
                 (lesson, student))
    return (int(count[0]) if count else 0), (None if row is None else _event(row))


def _event(row: tuple[Any, ...]) -> PresenceEvent:
    return PresenceEvent(key=row[0], lesson=row[1], kind=PresenceKind(row[2]), at=float(row[3]), classroom=row[4],
                         session=row[5], student=row[6], source=row[7], rollcall=row[8])


def lessons_of_student_in(tx: Tx, student: str) -> list[str]:
    """Lessons with presence events naming ``student``."""
    return [row[0] for row in tx.all("SELECT DISTINCT lesson FROM presence_events WHERE student = ?", (student,))]


def lessons_of_classroom_in(tx: Tx, classroom: str) -> set[str]:
    """Lessons ``classroom`` joined (a classroom-join event names it)."""
    rows = tx.all("SELECT DISTINCT lesson FROM presence_events WHERE classroom = ? AND kind = ?",
                  (classroom, PresenceKind.CLASSROOM_JOIN.value))
    return {row[0] for row in rows}


def _key_in(tx: Tx, key: str) -> PresenceEvent | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM presence_events WHERE key = ?", (key,))
    return None if row is None else _event(row)


class PresenceLog:
    """Append-only presence events of every lesson, with group commit."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._group: GroupCommit[_Batch] = GroupCommit("presence log", self._commit, MAX_QUEUED_BATCHES)
        self.ingested = 0
        """events this process wrote (new ones; a repeated key is not counted)"""

    def start(self) -> None:
        self._group.start()

    async def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        await self._group.stop()

    async def append(self, events: Sequence[PresenceEvent], author: str,
                     request: Request | None = None) -> list[str]:
        """Durably append ``events``; per event ``"created"`` or ``"exists"``.

        Raises ValidationError for a bad key and EventKeyConflict when a key was used for other
        content, or ``request``'s key for a request of another digest; then nothing of this call
        is written.
        """
        if not events:
            return []
        rows = [_row(event, author) for event in events]
        return await self._enqueue(rows, request)

    def submit(self, events: Sequence[PresenceEvent], author: str) -> asyncio.Future[list[str]]:
        """Queue ``events`` without waiting (the writer owns them); the future tells the outcome."""
        future = self._enqueue([_row(event, author) for event in events])
        future.add_done_callback(_log_failure)
        return future

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self._group.flush()

    async def events(self, lesson: str) -> list[PresenceEvent]:
        """Every event of ``lesson`` in append order."""
        await self.flush()
        return await self.db.read(events_in, lesson)

    async def last_presence(self, lesson: str, student: str) -> tuple[int, PresenceEvent | None]:
        """(events naming ``student`` in ``lesson``, the latest of them), after what is queued."""
        await self.flush()
        return await self.db.read(last_presence_in, lesson, student)

    async def event(self, key: str) -> PresenceEvent | None:
        return await self.db.read(_key_in, key)

    def _enqueue(self, rows: list[tuple[object, ...]], request: Request | None = None) -> asyncio.Future[list[str]]:
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._group.enqueue(_Batch(rows, future, request))
        return future

    async def _commit(self, batches: list[_Batch]) -> None:
        try:
            outcome = await self.db.transact(_write_batches, [(batch.rows, batch.request) for batch in batches])
        except Exception as exc:  # the database refused the whole commit: every waiter learns it
            log.exception("presence events not written batches=%d", len(batches))
            for batch in batches:
                if not batch.done.done():
                    batch.done.set_exception(exc)
            return
        for index, batch in enumerate(batches):
            result = outcome[index]
            if batch.done.done():
                continue
            if isinstance(result, Exception):
                batch.done.set_exception(result)
            else:
                self.ingested += result.count("created")
                batch.done.set_result(result)


def _log_failure(future: asyncio.Future[list[str]]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("presence events lost: %s", future.exception())
