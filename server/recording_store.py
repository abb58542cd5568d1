"""Where recordings' metadata lives: the ``RecordingStore`` port and its SQLite (WAL) implementation.

The recorder creates a row when it starts (status "recording") and updates it as it goes
(tracks, then the final status and ``ended_at``). ``mark_interrupted`` runs at start-up: a row
still "recording" then belongs to a process that died, so it becomes "interrupted" -- a crash
never loses a recording, it only marks it.
"""

from __future__ import annotations

import builtins
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from classroom.errors import Conflict, NotFound
from classroom.recordings import Chapter, Recording, RecordingStatus, Track, with_chapter
from server.sqlite_thread import SqliteThread
from server.wire_json import dumps

__all__ = ["RecordingStore", "SqliteRecordingStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")


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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    id          TEXT PRIMARY KEY,
    lesson_id   TEXT NOT NULL,
    school      TEXT NOT NULL,
    course      TEXT,
    title       TEXT NOT NULL,
    started_at  REAL NOT NULL,
    ended_at    REAL,
    status      TEXT NOT NULL,
    tracks      TEXT NOT NULL,
    chapters    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_by_school ON recordings (school, started_at);
CREATE INDEX IF NOT EXISTS recordings_by_lesson ON recordings (lesson_id, started_at);
CREATE INDEX IF NOT EXISTS recordings_by_status ON recordings (status);
"""
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


class SqliteRecordingStore:
    """A RecordingStore in one SQLite file; blocking calls run on a single worker thread."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._sql = SqliteThread(self._path, _SCHEMA, "recording store")

    async def open(self) -> None:
        await self._sql.open()
        log.info("recording store open path=%s", self._path)

    async def close(self) -> None:
        await self._sql.close()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._sql.run(fn, *args)

    def _db(self) -> sqlite3.Connection:
        return self._sql.db()

    async def create(self, recording: Recording) -> None:
        await self._run(self._insert, recording)

    async def get(self, recording_id: str) -> Recording:
        return await self._run(self._select, recording_id)

    async def list(
        self,
        *,
        school: str | None = None,
        lesson_id: str | None = None,
        course: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> builtins.list[Recording]:
        return await self._run(self._select_all, school, lesson_id, course, since, until)

    async def update(
        self,
        recording_id: str,
        *,
        status: RecordingStatus | None = None,
        ended_at: float | None = None,
        tracks: Sequence[Track] | None = None,
        chapters: Sequence[Chapter] | None = None,
    ) -> Recording:
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = RecordingStatus(status).value
        if ended_at is not None:
            changes["ended_at"] = float(ended_at)
        if tracks is not None:
            changes["tracks"] = _tracks_json(tracks)
        if chapters is not None:
            changes["chapters"] = _chapters_json(sorted(chapters, key=lambda c: c.at_s))
        return await self._run(self._update, recording_id, changes)

    async def add_chapter(self, recording_id: str, chapter: Chapter) -> Recording:
        return await self._run(self._add_chapter, recording_id, chapter)

    async def delete(self, recording_id: str) -> None:
        await self._run(self._delete, recording_id)

    async def mark_interrupted(self) -> builtins.list[str]:
        ids = await self._run(self._mark_interrupted)
        if ids:
            log.warning("recordings interrupted by a restart count=%d ids=%s", len(ids), ",".join(ids))
        return ids

    # The methods below run on the worker thread only.

    def _insert(self, recording: Recording) -> None:
        try:
            self._db().execute(f"INSERT INTO recordings ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", _row(recording))
        except sqlite3.IntegrityError:
            raise Conflict(f"recording {recording.id} already exists") from None

    def _select(self, recording_id: str) -> Recording:
        row = self._db().execute(f"SELECT {_COLUMNS} FROM recordings WHERE id = ?", (recording_id,)).fetchone()
        if row is None:
            raise NotFound(f"recording {recording_id} not found")
        return _recording(row)

    def _select_all(
        self, school: str | None, lesson_id: str | None, course: str | None, since: float | None, until: float | None
    ) -> builtins.list[Recording]:
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        for column, value in (("school", school), ("lesson_id", lesson_id), ("course", course)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if until is not None:
            where.append("started_at <= ?")
            params.append(until)
        query = f"SELECT {_COLUMNS} FROM recordings"
        if where:
            query += " WHERE " + " AND ".join(where)
        rows = self._db().execute(query + " ORDER BY started_at DESC, id", params).fetchall()
        return [_recording(row) for row in rows]

    def _update(self, recording_id: str, changes: dict[str, Any]) -> Recording:
        db = self._db()
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            cursor = db.execute(f"UPDATE recordings SET {assignments} WHERE id = ?", (*changes.values(), recording_id))
            if cursor.rowcount == 0:
                raise NotFound(f"recording {recording_id} not found")
        return self._select(recording_id)

    def _add_chapter(self, recording_id: str, chapter: Chapter) -> Recording:
        # Read-modify-write is atomic: this thread is the store's only writer.
        updated = with_chapter(self._select(recording_id), chapter)
        self._db().execute("UPDATE recordings SET chapters = ? WHERE id = ?",
                           (_chapters_json(updated.chapters), recording_id))
        return updated

    def _delete(self, recording_id: str) -> None:
        cursor = self._db().execute("DELETE FROM recordings WHERE id = ?", (recording_id,))
        if cursor.rowcount == 0:
            raise NotFound(f"recording {recording_id} not found")

    def _mark_interrupted(self) -> builtins.list[str]:
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            ids = [row[0] for row in db.execute(
                "SELECT id FROM recordings WHERE status = ? ORDER BY started_at", (RecordingStatus.RECORDING.value,))]
            db.execute("UPDATE recordings SET status = ? WHERE status = ?",
                       (RecordingStatus.INTERRUPTED.value, RecordingStatus.RECORDING.value))
        return ids
