"""Who took part in which lesson, for replay access: enrolments and presence events."""

from __future__ import annotations

from classroom.access import Claims
from classroom.principal import Principal
from classroom.recordings import Reach
from classroom.roles import Role
from server.directory.store import classroom_in, courses_of_in, student_in
from server.edge.database import Database, Tx
from server.presence.log import lessons_of_classroom_in, lessons_of_student_in

__all__ = ["ReplayReach"]


def _reach_in(tx: Tx, principal: Principal) -> Reach:
    """What the principal took part in; nothing unless the directory has it in that school."""
    if principal.role is Role.CLASSROOM:
        classroom = classroom_in(tx, principal.subject)
        if classroom is None or classroom.school != principal.school:
            return Reach()
        return Reach(lessons=frozenset(lessons_of_classroom_in(tx, principal.subject)))
    code = principal.subject.upper()
    student = student_in(tx, code)
    if student is None or student.school != principal.school:
        return Reach()
    lessons = set(lessons_of_student_in(tx, code)) | lessons_of_classroom_in(tx, student.classroom)
    return Reach(courses=frozenset(courses_of_in(tx, code)), lessons=frozenset(lessons))


class ReplayReach:
    """``await reach(claims)``: the courses and lessons a student or classroom took part in."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __call__(self, claims: Claims) -> Reach:
        if claims.role not in (Role.STUDENT, Role.CLASSROOM):
            return Reach()
        return await self._db.read(_reach_in, claims.principal)
