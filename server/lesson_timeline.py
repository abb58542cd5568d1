"""The lesson's events beside its media: chat, stage, presence, markers and the training line.

Everything lives in the training event log's table (server/training/event_log.py,
``training_events`` in ``training.db``): besides its "snapshot", "patch" and "command" rows, a
lesson appends rows of the kinds in ``LESSON_KINDS`` with ``append_lesson_event`` (through the
log's single writer). ``at`` is always the server wall clock.

``SqliteLessonTimeline`` is the replay side: its own connection on its own thread (WAL: it reads
while the live log writes) so seeking never queues behind live appends.

- ``timeline`` returns the events of a window of the media clock, ``t = at - started_at``;
- ``state_at`` rebuilds the training line at a wall-clock instant: the last snapshot at or
  before it, then the patches logged after that snapshot and up to the instant, applied in log
  order with ``apply_patch``. It reads only the rows between that snapshot and the instant
  (snapshots come every 30 s of line time: a few hundred rows), never the whole lesson.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from classroom.errors import ValidationError
from classroom.training.patches import apply_patch
from server.sqlite_thread import SqliteThread
from server.training.event_log import TABLE_SCHEMA, Event, EventLog
from server.wire_json import dumps

__all__ = [
    "LESSON_KINDS",
    "TIMELINE_KINDS",
    "SqliteLessonTimeline",
    "TimelineEvent",
    "append_lesson_event",
    "lesson_event",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

LESSON_KINDS = ("chat", "stage", "join", "leave", "marker")
"""Kinds a lesson appends beside the training line's "snapshot", "patch" and "command"."""

TIMELINE_KINDS = (*LESSON_KINDS, "command")
"""What a replay timeline shows by default (patches and snapshots are served as state_at)."""

MAX_BODY_BYTES = 16 * 1024

# Same table as the training log (CREATE IF NOT EXISTS: whichever opens first creates it), plus
# two partial indexes: snapshots alone (state_at finds the last one in one probe) and the
# timeline kinds alone (a window of chat never walks the ~20 patches per second around it).
_SCHEMA = TABLE_SCHEMA + """
CREATE INDEX IF NOT EXISTS training_events_snapshots ON training_events (lesson_id, at) WHERE kind = 'snapshot';
CREATE INDEX IF NOT EXISTS training_events_timeline ON training_events (lesson_id, at)
    WHERE kind NOT IN ('snapshot', 'patch');
"""


@dataclass(frozen=True)
class TimelineEvent:
    t: float  # seconds on the media clock (may be negative for a window asked before the start)
    at: float  # server wall clock
    kind: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "kind": self.kind, **{k: v for k, v in self.body.items() if k not in ("t", "kind")}}


def lesson_event(lesson_id: str, kind: str, body: Mapping[str, Any], at: float | None = None) -> Event:
    """A validated lesson event for the log; raises ValidationError."""
    if kind not in LESSON_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(LESSON_KINDS)}")
    if not isinstance(body, Mapping):
        raise ValidationError("body must be an object")
    try:
        encoded = dumps(dict(body))
    except ValueError:
        raise ValidationError("event body must hold finite numbers only") from None
    if len(encoded.encode()) > MAX_BODY_BYTES:
        raise ValidationError(f"event body exceeds {MAX_BODY_BYTES} bytes")
    return Event(lesson_id, time.time() if at is None else float(at), kind, 0, dict(body))


async def append_lesson_event(
    event_log: EventLog, lesson_id: str, kind: str, body: Mapping[str, Any], *, at: float | None = None
) -> Event:
    """Append one chat/stage/join/leave/marker event (at = now unless given) and return it."""
    event = lesson_event(lesson_id, kind, body, at)
    await event_log.append([event])
    return event


class SqliteLessonTimeline:
    """Reads (and, on deletion, prunes) a lesson's events in the training log's SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._sql = SqliteThread(self._path, _SCHEMA, "lesson timeline")

    async def open(self) -> None:
        await self._sql.open()

    async def close(self) -> None:
        await self._sql.close()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._sql.run(fn, *args)

    def _db(self) -> sqlite3.Connection:
        return self._sql.db()

    async def timeline(
        self,
        lesson_id: str,
        since_s: float,
        until_s: float,
        recording_started_at: float,
        *,
        kinds: Iterable[str] = TIMELINE_KINDS,
        limit: int | None = None,
    ) -> list[TimelineEvent]:
        """Events with ``since_s <= t <= until_s`` (media clock), in log order; at most ``limit``."""
        wanted = tuple(kinds)
        unknown = set(wanted) - set(TIMELINE_KINDS)
        if unknown:
            raise ValidationError(f"unknown timeline kind(s): {', '.join(sorted(unknown))}")
        if not wanted:
            return []
        rows = await self._run(self._timeline, lesson_id, recording_started_at + since_s,
                               recording_started_at + until_s, wanted, limit)
        return [TimelineEvent(at - recording_started_at, at, kind, json.loads(body)) for at, kind, body in rows]

    async def state_at(self, lesson_id: str, t_wall: float) -> tuple[int, dict[str, Any]] | None:
        """(revision, document) of the training line at wall-clock ``t_wall``; None before its first snapshot."""
        return await self._run(self._state_at, lesson_id, t_wall)

    async def last_snapshot_at(self, lesson_id: str, t_wall: float) -> float | None:
        """When the last snapshot at or before ``t_wall`` was taken, or None."""
        row = await self._run(self._last_snapshot, lesson_id, t_wall)
        return None if row is None else row[1]

    async def delete(self, lesson_id: str, start: float, end: float,
                     keep: Sequence[tuple[float, float]] = ()) -> int:
        """Delete the lesson's rows with ``start <= at <= end`` outside every ``keep`` window; how many."""
        return await self._run(self._delete, lesson_id, start, end, tuple(keep))

    # The methods below run on the worker thread only.

    def _timeline(self, lesson_id: str, since: float, until: float, kinds: tuple[str, ...],
                  limit: int | None) -> list[tuple[float, str, str]]:
        marks = ",".join("?" * len(kinds))
        # The literal "kind NOT IN ('snapshot', 'patch')" lets SQLite use the partial index.
        query = (f"SELECT at, kind, body FROM training_events WHERE lesson_id = ? AND at >= ? AND at <= ?"
                 f" AND kind NOT IN ('snapshot', 'patch') AND kind IN ({marks}) ORDER BY at, seq")
        params: list[Any] = [lesson_id, since, _finite(until), *kinds]
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return self._db().execute(query, params).fetchall()

    def _last_snapshot(self, lesson_id: str, t_wall: float) -> tuple[int, float, int, str] | None:
        row: tuple[int, float, int, str] | None = self._db().execute(
            "SELECT seq, at, revision, body FROM training_events"
            " WHERE lesson_id = ? AND kind = 'snapshot' AND at <= ? ORDER BY at DESC, seq DESC LIMIT 1",
            (lesson_id, _finite(t_wall))).fetchone()
        return row

    def _state_at(self, lesson_id: str, t_wall: float) -> tuple[int, dict[str, Any]] | None:
        snapshot = self._last_snapshot(lesson_id, t_wall)
        if snapshot is None:
            return None
        seq, snapshot_at, revision, body = snapshot
        document: dict[str, Any] = json.loads(body)["state"]
        rows = self._db().execute(
            "SELECT revision, body FROM training_events"
            " WHERE lesson_id = ? AND at >= ? AND at <= ? AND kind = 'patch' AND seq > ? ORDER BY seq",
            (lesson_id, snapshot_at, _finite(t_wall), seq)).fetchall()
        ops: list[Mapping[str, Any]] = []
        for patch_revision, patch_body in rows:
            # The owner may snapshot between two flushes: the next batch then starts before the
            # snapshot's revision and repeats some of its paths, with the same or newer values
            # (latest value per path), so applying it whole is right.
            ops.extend(json.loads(patch_body)["ops"])
            revision = max(revision, patch_revision)
        if ops:
            document = apply_patch(document, ops)  # one copy of the document, all ops in log order
        return revision, document

    def _delete(self, lesson_id: str, start: float, end: float, keep: tuple[tuple[float, float], ...]) -> int:
        query = "DELETE FROM training_events WHERE lesson_id = ? AND at >= ? AND at <= ?"
        params: list[Any] = [lesson_id, start, _finite(end)]
        for keep_start, keep_end in keep:
            query += " AND NOT (at >= ? AND at <= ?)"
            params += [keep_start, _finite(keep_end)]
        return self._db().execute(query, params).rowcount


def _finite(value: float) -> float:
    """SQLite binds inf as a REAL fine, but keep bounds finite and comparable everywhere."""
    if math.isnan(value):
        raise ValidationError("time must be a number")
    return max(-1e18, min(1e18, value))
