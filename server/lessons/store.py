"""The lesson store port, its in-process twin and its SQL implementation; the ``lessons`` table.

Implementations: ``MemoryLessonStore`` (tests, throwaway runs) and ``SqlLessonStore`` over the
``Database`` port (SQLite embedded, PostgreSQL for several nodes; commits durable). All pass
``tests/test_lesson_store_contract.py``, the SQL one on both engines.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any, Protocol

from classroom.errors import Conflict, NotFound
from classroom.lessons import Lesson, LessonState
from server.edge.database import Database, IntegrityError, Tx
from server.edge.migrations import Migrations

__all__ = ["LESSONS_SCHEMA", "LessonStore", "MemoryLessonStore", "SqlLessonStore"]

log = logging.getLogger(__name__)

_LESSONS_V1 = """
CREATE TABLE IF NOT EXISTS lessons (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    school      TEXT NOT NULL,
    teacher     TEXT NOT NULL,
    course      TEXT,
    state       TEXT NOT NULL,
    recording   INTEGER NOT NULL,
    created_at  {real} NOT NULL,
    started_at  {real},
    ended_at    {real}
);
CREATE INDEX IF NOT EXISTS lessons_by_school ON lessons (school, created_at);
"""
LESSONS_SCHEMA = Migrations("lessons", (_LESSONS_V1,))
"""The ``lessons`` table (version 1: as ``server/lessons/sqlite_store.py`` created it before migrations)."""

_COLUMNS = "id, title, school, teacher, course, state, recording, created_at, started_at, ended_at"


class LessonStore(Protocol):
    """Persistence of lessons. ``open`` and ``close`` are idempotent."""

    async def open(self) -> None:
        """Acquire resources (connections, schema)."""

    async def create(self, lesson: Lesson) -> None:
        """Insert a new lesson; raises Conflict if the id exists."""

    async def get(self, lesson_id: str) -> Lesson:
        """The lesson; raises NotFound."""
        ...

    async def list(self, school: str | None = None) -> list[Lesson]:
        """Lessons (of one school if given), oldest first."""
        ...

    async def update(self, lesson: Lesson) -> None:
        """Replace a stored lesson; raises NotFound if absent."""

    async def close(self) -> None:
        """Release resources."""


class MemoryLessonStore:
    """A LessonStore held in a dict."""

    def __init__(self) -> None:
        self._lessons: dict[str, Lesson] = {}

    async def open(self) -> None:
        return None

    async def create(self, lesson: Lesson) -> None:
        if lesson.id in self._lessons:
            raise Conflict(f"lesson {lesson.id} already exists")
        self._lessons[lesson.id] = lesson

    async def get(self, lesson_id: str) -> Lesson:
        try:
            return self._lessons[lesson_id]
        except KeyError:
            raise NotFound(f"lesson {lesson_id} not found") from None

    async def list(self, school: str | None = None) -> list[Lesson]:
        found = [x for x in self._lessons.values() if school is None or x.school == school]
        return sorted(found, key=lambda x: (x.created_at, x.id))

    async def update(self, lesson: Lesson) -> None:
        if lesson.id not in self._lessons:
            raise NotFound(f"lesson {lesson.id} not found")
        self._lessons[lesson.id] = lesson

    async def close(self) -> None:
        return None


def _row(lesson: Lesson) -> tuple[Any, ...]:
    return (lesson.id, lesson.title, lesson.school, lesson.teacher, lesson.course, lesson.state.value,
            int(lesson.recording), lesson.created_at, lesson.started_at, lesson.ended_at)


def _lesson(row: tuple[Any, ...]) -> Lesson:
    return Lesson(id=row[0], title=row[1], school=row[2], teacher=row[3], course=row[4], state=LessonState(row[5]),
                  recording=bool(row[6]), created_at=row[7], started_at=row[8], ended_at=row[9])


def _select_in(tx: Tx, lesson_id: str) -> Lesson:
    row = tx.one(f"SELECT {_COLUMNS} FROM lessons WHERE id = ?", (lesson_id,))
    if row is None:
        raise NotFound(f"lesson {lesson_id} not found")
    return _lesson(row)


def _select_all_in(tx: Tx, school: str | None) -> builtins.list[Lesson]:
    query = f"SELECT {_COLUMNS} FROM lessons"
    params: tuple[Any, ...] = ()
    if school is not None:
        query, params = query + " WHERE school = ?", (school,)
    return [_lesson(row) for row in tx.all(query + " ORDER BY created_at, id", params)]


def _replace_in(tx: Tx, lesson: Lesson) -> None:
    if tx.one("SELECT 1 FROM lessons WHERE id = ?", (lesson.id,)) is None:
        raise NotFound(f"lesson {lesson.id} not found")
    row = _row(lesson)
    tx.execute("UPDATE lessons SET title=?, school=?, teacher=?, course=?, state=?, recording=?,"
               " created_at=?, started_at=?, ended_at=? WHERE id=?", (*row[1:], row[0]))


def _insert_in(tx: Tx, lesson: Lesson) -> None:
    tx.execute(f"INSERT INTO lessons ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", _row(lesson))


class SqlLessonStore:
    """A LessonStore over its own ``Database`` (opened and closed with the store)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self) -> None:
        await self.db.open()
        log.info("lesson store open dialect=%s", self.db.dialect)

    async def close(self) -> None:
        await self.db.close()

    async def create(self, lesson: Lesson) -> None:
        try:
            await self.db.transact(_insert_in, lesson)
        except IntegrityError:
            raise Conflict(f"lesson {lesson.id} already exists") from None

    async def get(self, lesson_id: str) -> Lesson:
        return await self.db.read(_select_in, lesson_id)

    async def list(self, school: str | None = None) -> builtins.list[Lesson]:
        return await self.db.read(_select_all_in, school)

    async def update(self, lesson: Lesson) -> None:
        await self.db.transact(_replace_in, lesson)
