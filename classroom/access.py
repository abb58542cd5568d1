"""Access decisions over token claims. Pure functions; the server enforces them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from classroom.principal import Principal
from classroom.roles import Role

if TYPE_CHECKING:
    from classroom.lessons import Lesson

__all__ = [
    "ANY_LESSON",
    "Claims",
    "can_interact",
    "can_join",
    "can_manage_lessons",
    "can_publish",
    "can_view",
    "covers_lesson",
    "is_school_admin",
    "is_student",
    "is_teacher_of",
]

ANY_LESSON = "*"
"""Lesson scope that covers every lesson."""


@dataclass(frozen=True)
class Claims:
    """What a verified access token says about its bearer: a principal, a lesson scope, grants."""

    principal: Principal
    lesson: str
    grants: tuple[str, ...]
    expires_at: int

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def school(self) -> str:
        return self.principal.school

    @property
    def subject(self) -> str:
        """For display and logs; identity checks compare :attr:`principal`."""
        return self.principal.subject


def covers_lesson(claims: Claims, lesson_id: str) -> bool:
    """True if the token's lesson scope includes ``lesson_id``."""
    return claims.lesson == ANY_LESSON or claims.lesson == lesson_id


def is_teacher_of(claims: Claims, lesson: Lesson) -> bool:
    """The token is the lesson's own teacher (same school, role and subject) and covers it."""
    return claims.principal == lesson.teacher_principal and covers_lesson(claims, lesson.id)


def is_school_admin(claims: Claims, school: str) -> bool:
    """School administration: an admin of ``school`` whose token is not scoped to one lesson."""
    return claims.role is Role.ADMIN and claims.school == school and claims.lesson == ANY_LESSON


def is_student(claims: Claims, code: str, home_school: str | None) -> bool:
    """The token is this student: a student of their home school whose subject is their code."""
    return claims.role is Role.STUDENT and claims.school == home_school and claims.subject.upper() == code


def can_manage_lessons(claims: Claims) -> bool:
    """Teachers and admins create and end lessons."""
    return claims.role in (Role.TEACHER, Role.ADMIN)


def can_publish(claims: Claims, lesson: Lesson) -> bool:
    """Only the lesson's own teacher broadcasts into it (admins cannot publish)."""
    return is_teacher_of(claims, lesson)


def can_view(claims: Claims, lesson_id: str) -> bool:
    """Every role may watch a lesson its scope covers."""
    return claims.role in tuple(Role) and covers_lesson(claims, lesson_id)


def can_join(claims: Claims, lesson: Lesson) -> bool:
    """Who enters a lesson (its channel or a WHEP session): every role its scope covers, but a
    teacher only into her own lesson."""
    if claims.role is Role.TEACHER:
        return is_teacher_of(claims, lesson)
    return can_view(claims, lesson.id)


def can_interact(claims: Claims, lesson_id: str) -> bool:
    """Teachers and remote classrooms take part (stage, hands, training line)."""
    return claims.role in (Role.TEACHER, Role.CLASSROOM) and covers_lesson(claims, lesson_id)


def is_node_reader(claims: Claims) -> bool:
    """May read node-wide records (the ledger's entries for a witness, the metrics): an admin of
    any school (a partner school witnessing this node's ledger) whose token is not scoped to one
    lesson."""
    return claims.role is Role.ADMIN and claims.lesson == ANY_LESSON
