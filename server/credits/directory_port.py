"""What presence, attendance and the bank need of the people directory, over the DirectoryStore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from classroom.people import Student
from server.directory.store import DirectoryStore, is_enrolled_in
from server.sql.database import Database

__all__ = ["DirectoryPort"]


class DirectoryPort:
    """Implements presence's Roster, attendance's AttendanceDirectory and the bank's BankDirectory."""

    def __init__(self, store: DirectoryStore, db: Database) -> None:
        self._store = store
        self._db = db

    async def student(self, code: str) -> Student | None:
        return await self._store.student(code.upper())

    async def is_enrolled(self, course: str, code: str) -> bool:
        return await self._db.transact(is_enrolled_in, course, code.upper())

    async def enrolled(self, course: str) -> Sequence[Student]:
        return await self._store.enrolled_students(course)

    async def schools_of(self, codes: Sequence[str]) -> Mapping[str, str]:
        found = await self._store.students_by_code([code.upper() for code in codes])
        return {code: student.school for code, student in found.items()}

    async def classroom_school(self, classroom: str) -> str | None:
        found = await self._store.classroom(classroom)
        return None if found is None else found.school

    async def course_credits(self, course: str) -> int | None:
        found = await self._store.course(course)
        return None if found is None else found.credits_centi
