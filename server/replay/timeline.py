"""The lesson's events beside its media: chat, stage, presence, markers and the training line.

Everything lives in the training event log (server/training/event_log.py owns ``training_events``
and the queries over it): besides its "snapshot", "patch" and "command" rows, a lesson appends
rows of the kinds in ``LESSON_KINDS`` with ``append_lesson_event`` (group-committed by the log's
writer). ``at`` is always the server wall clock.

``LessonTimeline`` is the replay side, over the log's ``Database``: it reads on the database's
reader connection, so seeking never queues behind live appends.

- ``timeline`` returns the events of a window of the media clock, ``t = at - started_at``;
- ``state_at`` rebuilds the training line at a wall-clock instant: the last snapshot at or
  before it, then the patches logged after that snapshot and up to the instant, applied in log
  order with ``apply_patch``. It reads only the rows between that snapshot and the instant
  (snapshots come every 30 s of line time: a few hundred rows), never the whole lesson.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from classroom.errors import ValidationError
from classroom.training.patches import apply_patch
from server.edge.database import Database, Tx
from server.edge.wire_json import dumps
from server.training.event_log import (
    Event,
    EventLog,
    delete_events_in,
    last_snapshot_in,
    patches_after_in,
    timeline_rows_in,
)

__all__ = [
    "LESSON_KINDS",
    "TIMELINE_KINDS",
    "LessonTimeline",
    "TimelineEvent",
    "append_lesson_event",
    "lesson_event",
]

LESSON_KINDS = ("chat", "stage", "join", "leave", "marker")
"""Kinds a lesson appends beside the training line's "snapshot", "patch" and "command"."""

TIMELINE_KINDS = (*LESSON_KINDS, "command")
"""What a replay timeline shows by default (patches and snapshots are served as state_at)."""

MAX_BODY_BYTES = 16 * 1024



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


def _state_at_in(tx: Tx, lesson_id: str, t_wall: float) -> tuple[int, dict[str, Any]] | None:
    snapshot = last_snapshot_in(tx, lesson_id, t_wall)
    if snapshot is None:
        return None
    seq, snapshot_at, revision, body = snapshot
    document: dict[str, Any] = json.loads(body)["state"]
    ops: list[Mapping[str, Any]] = []
    for patch_revision, patch_body in patches_after_in(tx, lesson_id, seq, snapshot_at, t_wall):
        # The owner may snapshot between two flushes: the next batch then starts before the
        # snapshot's revision and repeats some of its paths, with the same or newer values
        # (latest value per path), so applying it whole is right.
        ops.extend(json.loads(patch_body)["ops"])
        revision = max(revision, patch_revision)
    if ops:
        document = apply_patch(document, ops)  # one copy of the document, all ops in log order
    return revision, document


class LessonTimeline:
    """Reads (and, on deletion, prunes) a lesson's events in the training log's database.

    It shares the log's ``Database`` and has no lifetime of its own: the log opens and closes it.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

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
        rows = await self.db.read(timeline_rows_in, lesson_id, _finite(recording_started_at + since_s),
                                  _finite(recording_started_at + until_s), wanted, limit)
        return [TimelineEvent(at - recording_started_at, at, kind, json.loads(body)) for at, kind, body in rows]

    async def state_at(self, lesson_id: str, t_wall: float) -> tuple[int, dict[str, Any]] | None:
        """(revision, document) of the training line at wall-clock ``t_wall``; None before its first snapshot."""
        return await self.db.read(_state_at_in, lesson_id, _finite(t_wall))

    async def last_snapshot_at(self, lesson_id: str, t_wall: float) -> float | None:
        """When the last snapshot at or before ``t_wall`` was taken, or None."""
        row = await self.db.read(last_snapshot_in, lesson_id, _finite(t_wall))
        return None if row is None else row[1]

    async def delete(self, lesson_id: str, start: float, end: float,
                     keep: Sequence[tuple[float, float]] = ()) -> int:
        """Delete the lesson's rows with ``start <= at <= end`` outside every ``keep`` window; how many."""
        bounded = tuple((_finite(a), _finite(b)) for a, b in keep)
        return await self.db.transact(delete_events_in, lesson_id, _finite(start), _finite(end), bounded)


def _finite(value: float) -> float:
    """Keep time bounds finite and comparable on both engines; NaN is refused."""
    if math.isnan(value):
        raise ValidationError("time must be a number")
    return max(-1e18, min(1e18, value))
