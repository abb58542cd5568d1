"""SQLite (WAL) lesson store: one connection, used only from one worker thread."""

from __future__ import annotations

import builtins
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from classroom.errors import Conflict, NotFound
from classroom.lessons import Lesson, LessonState
from server.sqlite_thread import SqliteThread

__all__ = ["SqliteLessonStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lessons (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    school      TEXT NOT NULL,
    teacher     TEXT NOT NULL,
    course      TEXT,
    state       TEXT NOT NULL,
    recording   INTEGER NOT NULL,
    created_at  REAL NOT NULL,
    started_at  REAL,
    ended_at    REAL
);
CREATE INDEX IF NOT EXISTS lessons_by_school ON lessons (school, created_at);
"""
_COLUMNS = "id, title, school, teacher, course, state, recording, created_at, started_at, ended_at"


def _row(lesson: Lesson) -> tuple[Any, ...]:
    return (
        lesson.id,
        lesson.title,
        lesson.school,
        lesson.teacher,
        lesson.course,
        lesson.state.value,
        int(lesson.recording),
        lesson.created_at,
        lesson.started_at,
        lesson.ended_at,
    )


def _lesson(row: tuple[Any, ...]) -> Lesson:
    return Lesson(
        id=row[0],
        title=row[1],
        school=row[2],
        teacher=row[3],
        course=row[4],
        state=LessonState(row[5]),
        recording=bool(row[6]),
        created_at=row[7],
        started_at=row[8],
        ended_at=row[9],
    )


class SqliteLessonStore:
    """A LessonStore in one SQLite file; blocking calls run on a single worker thread."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._sql = SqliteThread(self._path, _SCHEMA, "lesson store")

    async def open(self) -> None:
        await self._sql.open()
        log.info("lesson store open path=%s", self._path)

    async def close(self) -> None:
        await self._sql.close()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._sql.run(fn, *args)

    def _db(self) -> sqlite3.Connection:
        return self._sql.db()

    async def create(self, lesson: Lesson) -> None:
        await self._run(self._insert, lesson)

    async def get(self, lesson_id: str) -> Lesson:
        return await self._run(self._select, lesson_id)

    async def list(self, school: str | None = None) -> list[Lesson]:
        return await self._run(self._select_all, school)

    async def update(self, lesson: Lesson) -> None:
        await self._run(self._replace, lesson)

    # The methods below run on the worker thread only.

    def _insert(self, lesson: Lesson) -> None:
        try:
            self._db().execute(f"INSERT INTO lessons ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", _row(lesson))
        except sqlite3.IntegrityError:
            raise Conflict(f"lesson {lesson.id} already exists") from None

    def _select(self, lesson_id: str) -> Lesson:
        cursor = self._db().execute(f"SELECT {_COLUMNS} FROM lessons WHERE id = ?", (lesson_id,))
        row = cursor.fetchone()
        if row is None:
            raise NotFound(f"lesson {lesson_id} not found")
        return _lesson(row)

    def _select_all(self, school: str | None) -> builtins.list[Lesson]:
        query = f"SELECT {_COLUMNS} FROM lessons"
        params: tuple[Any, ...] = ()
        if school is not None:
            query, params = query + " WHERE school = ?", (school,)
        rows = self._db().execute(query + " ORDER BY created_at, id", params).fetchall()
        return [_lesson(row) for row in rows]

    def _replace(self, lesson: Lesson) -> None:
        row = _row(lesson)
        cursor = self._db().execute(
            "UPDATE lessons SET title=?, school=?, teacher=?, course=?, state=?, recording=?,"
            " created_at=?, started_at=?, ended_at=? WHERE id=?",
            (*row[1:], row[0]),
        )
        if cursor.rowcount == 0:
            raise NotFound(f"lesson {lesson.id} not found")
