"""The lesson store port and its in-process twin.

Implementations: ``MemoryLessonStore`` (tests, throwaway runs) and
``server.sqlite_lessons.SqliteLessonStore`` (the embedded default). Both pass
``tests/test_lesson_store_contract.py``.
"""

from __future__ import annotations

from typing import Protocol

from classroom.errors import Conflict, NotFound
from classroom.lessons import Lesson

__all__ = ["LessonStore", "MemoryLessonStore"]


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
