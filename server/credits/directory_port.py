"""What presence, attendance and the bank need of the people directory, read on the reader connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from classroom.people import Student
from server.directory.store import (
    classroom_in,
    course_in,
    enrolled_students_in,
    is_enrolled_in,
    student_in,
    students_by_code_in,
)
from server.sql.database import Database

__all__ = ["DirectoryPort"]


class DirectoryPort:
    """Implements presence's Roster, attendance's AttendanceDirectory and the bank's BankDirectory.

    Every lookup is a read on the database's reader connection, so roster checks never queue
    behind presence writes.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def student(self, code: str) -> Student | None:
        return await self._db.read(student_in, code.upper())

    async def is_enrolled(self, course: str, code: str) -> bool:
        return await self._db.read(is_enrolled_in, course, code.upper())

    async def enrolled(self, course: str) -> Sequence[Student]:
        return await self._db.read(enrolled_students_in, course)

    async def schools_of(self, codes: Sequence[str]) -> Mapping[str, str]:
        found = await self._db.read(students_by_code_in, [code.upper() for code in codes])
        return {code: student.school for code, student in found.items()}

    async def classroom_school(self, classroom: str) -> str | None:
        found = await self._db.read(classroom_in, classroom)
        return None if found is None else found.school

    async def course_school(self, course: str) -> str | None:
        found = await self._db.read(course_in, course)
        return None if found is None else found.school

    async def course_credits(self, course: str) -> int | None:
        found = await self._db.read(course_in, course)
        return None if found is None else found.credits_centi
