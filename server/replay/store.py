"""Where recordings' metadata lives: the ``RecordingStore`` port, its SQL implementation over the
``Database`` port (SQLite embedded, PostgreSQL for several nodes) and the ``recordings`` table.
The media files stay on the node's disk; only their rows are here.

The recorder creates a row when it starts (status "recording") and updates it as it goes
(tracks, then the final status and ``ended_at``). ``mark_interrupted`` runs at start-up: a row
still "recording" then belongs to a process that died, so it becomes "interrupted" -- a crash
never loses a recording, it only marks it.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from classroom.errors import Conflict, NotFound
from classroom.recordings import Chapter, Recording, RecordingStatus, Track, with_chapter
from server.edge.database import Database, IntegrityError, Tx
from server.edge.migrations import Migrations
from server.edge.wire_json import dumps

__all__ = ["RECORDINGS_SCHEMA", "RecordingStore", "SqlRecordingStore"]

log = logging.getLogger(__name__)


class RecordingStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def create(self, recording: Recording) -> None:
        """Raises Conflict if the id exists."""

    async def get(self, recording_id: str) -> Recording:
        """Raises NotFound."""
        ...

    async def list(
        self,
        *,
        school: str | None = None,
        lesson_id: str | None = None,
        course: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> builtins.list[Recording]:
        """Newest first; ``since``/``until`` bound ``started_at`` (inclusive)."""
        ...

    async def update(
        self,
        recording_id: str,
        *,
        status: RecordingStatus | None = None,
        ended_at: float | None = None,
        tracks: Sequence[Track] | None = None,
        chapters: Sequence[Chapter] | None = None,
    ) -> Recording:
        """Change the given fields only (None: unchanged); the updated recording; raises NotFound."""
        ...

    async def add_chapter(self, recording_id: str, chapter: Chapter) -> Recording:
        """Atomically add one chapter (see classroom.recordings.with_chapter); raises NotFound, Conflict."""
        ...

    async def delete(self, recording_id: str) -> None:
        """Raises NotFound."""

    async def mark_interrupted(self) -> builtins.list[str]:
        """Every recording still "recording" becomes "interrupted"; their ids."""
        ...


_RECORDINGS_V1 = """
CREATE TABLE IF NOT EXISTS recordings (
    id          TEXT PRIMARY KEY,
    lesson_id   TEXT NOT NULL,
    school      TEXT NOT NULL,
    course      TEXT,
    title       TEXT NOT NULL,
    started_at  {real} NOT NULL,
    ended_at    {real},
    status      TEXT NOT NULL,
    tracks      TEXT NOT NULL,
    chapters    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_by_school ON recordings (school, started_at);
CREATE INDEX IF NOT EXISTS recordings_by_lesson ON recordings (lesson_id, started_at);
CREATE INDEX IF NOT EXISTS recordings_by_status ON recordings (status);
"""
_RECORDINGS_V2 = """
ALTER TABLE recordings ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS recordings_by_node_status ON recordings (node, status)
"""
RECORDINGS_SCHEMA = Migrations("recordings", (_RECORDINGS_V1, _RECORDINGS_V2))
"""Version 1: the ``recordings`` table as the SQLite store created it before migrations. Version 2:
the node whose disk holds the media (``''``: a row from before, when every node had its own file)."""
_COLUMNS = "id, lesson_id, school, course, title, started_at, ended_at, status, tracks, chapters"


def _tracks_json(tracks: Sequence[Track]) -> str:
    return dumps(
        [{"name": t.name, "kind": t.kind, "codec": t.codec, "file": t.file, "width": t.width, "height": t.height}
         for t in tracks])


def _chapters_json(chapters: Sequence[Chapter]) -> str:
    return dumps([c.to_json() for c in chapters])


def _row(recording: Recording) -> tuple[Any, ...]:
    return (
        recording.id,
        recording.lesson_id,
        recording.school,
        recording.course,
        recording.title,
        recording.started_at,
        recording.ended_at,
        recording.status.value,
        _tracks_json(recording.tracks),
        _chapters_json(recording.chapters),
    )


def _recording(row: tuple[Any, ...]) -> Recording:
    return Recording(
        id=row[0],
        lesson_id=row[1],
        school=row[2],
        course=row[3],
        title=row[4],
        started_at=row[5],
        ended_at=row[6],
        status=RecordingStatus(row[7]),
        tracks=tuple(Track(**t) for t in json.loads(row[8])),
        chapters=tuple(Chapter(**c) for c in json.loads(row[9])),
    )


def _insert_in(tx: Tx, recording: Recording, node: str) -> None:
    tx.execute(f"INSERT INTO recordings ({_COLUMNS}, node) VALUES (?,?,?,?,?,?,?,?,?,?,?)", (*_row(recording), node))


def _select_in(tx: Tx, recording_id: str) -> Recording:
    row = tx.one(f"SELECT {_COLUMNS} FROM recordings WHERE id = ?", (recording_id,))
    if row is None:
        raise NotFound(f"recording {recording_id} not found")
    return _recording(row)


def _select_all_in(tx: Tx, school: str | None, lesson_id: str | None, course: str | None, since: float | None,
                   until: float | None) -> builtins.list[Recording]:
    where: builtins.list[str] = []
    params: builtins.list[Any] = []
    for clause, value in (("school = ?", school), ("lesson_id = ?", lesson_id), ("course = ?", course),
                          ("started_at >= ?", since), ("started_at <= ?", until)):
        if value is not None:
            where.append(clause)
            params.append(value)
    query = f"SELECT {_COLUMNS} FROM recordings"
    if where:
        query += " WHERE " + " AND ".join(where)
    return [_recording(row) for row in tx.all(query + " ORDER BY started_at DESC, id", params)]


def _update_in(tx: Tx, recording_id: str, changes: dict[str, Any]) -> Recording:
    _select_in(tx, recording_id)  # NotFound before any change
    if changes:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        tx.execute(f"UPDATE recordings SET {assignments} WHERE id = ?", (*changes.values(), recording_id))
    return _select_in(tx, recording_id)


def _add_chapter_in(tx: Tx, recording_id: str, chapter: Chapter) -> Recording:
    """Read-modify-write in one transaction; PostgreSQL: the row stays locked until it commits."""
    lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE, one writer
    row = tx.one(f"SELECT {_COLUMNS} FROM recordings WHERE id = ?{lock}", (recording_id,))
    if row is None:
        raise NotFound(f"recording {recording_id} not found")
    updated = with_chapter(_recording(row), chapter)
    tx.execute("UPDATE recordings SET chapters = ? WHERE id = ?", (_chapters_json(updated.chapters), recording_id))
    return updated


def _delete_in(tx: Tx, recording_id: str) -> None:
    _select_in(tx, recording_id)
    tx.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))


def _mark_interrupted_in(tx: Tx, node: str) -> builtins.list[str]:
    """This node's rows still "recording" (and those from before nodes were recorded, all in a node's
    own SQLite file) become "interrupted"; their ids."""
    mine = "status = ? AND node IN (?, '')"
    params = (RecordingStatus.RECORDING.value, node)
    ids = [row[0] for row in tx.all(f"SELECT id FROM recordings WHERE {mine} ORDER BY started_at", params)]
    tx.execute(f"UPDATE recordings SET status = ? WHERE {mine}", (RecordingStatus.INTERRUPTED.value, *params))
    return ids


def _changes(status: RecordingStatus | None, ended_at: float | None, tracks: Sequence[Track] | None,
             chapters: Sequence[Chapter] | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = RecordingStatus(status).value
    if ended_at is not None:
        changes["ended_at"] = float(ended_at)
    if tracks is not None:
        changes["tracks"] = _tracks_json(tracks)
    if chapters is not None:
        changes["chapters"] = _chapters_json(sorted(chapters, key=lambda c: c.at_s))
    return changes


class SqlRecordingStore:
    """A RecordingStore over its own ``Database`` (opened and closed with the store).

    ``node`` names the node whose disk holds the media of the recordings it creates: nodes sharing
    one PostgreSQL each mark only their own recordings interrupted at start-up.
    """

    def __init__(self, db: Database, node: str = "") -> None:
        self.db = db
        self.node = node

    async def open(self) -> None:
        await self.db.open()
        log.info("recording store open dialect=%s", self.db.dialect)

    async def close(self) -> None:
        await self.db.close()

    async def create(self, recording: Recording) -> None:
        try:
            await self.db.transact(_insert_in, recording, self.node)
        except IntegrityError:
            raise Conflict(f"recording {recording.id} already exists") from None

    async def get(self, recording_id: str) -> Recording:
        return await self.db.read(_select_in, recording_id)

    async def list(
        self,
        *,
        school: str | None = None,
        lesson_id: str | None = None,
        course: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> builtins.list[Recording]:
        return await self.db.read(_select_all_in, school, lesson_id, course, since, until)

    async def update(
        self,
        recording_id: str,
        *,
        status: RecordingStatus | None = None,
        ended_at: float | None = None,
        tracks: Sequence[Track] | None = None,
        chapters: Sequence[Chapter] | None = None,
    ) -> Recording:
        return await self.db.transact(_update_in, recording_id, _changes(status, ended_at, tracks, chapters))

    async def add_chapter(self, recording_id: str, chapter: Chapter) -> Recording:
        return await self.db.transact(_add_chapter_in, recording_id, chapter)

    async def delete(self, recording_id: str) -> None:
        await self.db.transact(_delete_in, recording_id)

    async def mark_interrupted(self) -> builtins.list[str]:
        ids = await self.db.transact(_mark_interrupted_in, self.node)
        if ids:
            log.warning("recordings interrupted by a restart count=%d ids=%s", len(ids), ",".join(ids))
        return ids
