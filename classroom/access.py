"""Access decisions over token claims. Pure functions; the server enforces them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from classroom.roles import Role

if TYPE_CHECKING:
    from classroom.lessons import Lesson

__all__ = [
    "ANY_LESSON",
    "Claims",
    "can_interact",
    "can_manage_lessons",
    "can_publish",
    "can_view",
    "covers_lesson",
]

ANY_LESSON = "*"
"""Lesson scope that covers every lesson."""


@dataclass(frozen=True)
class Claims:
    """What a verified access token says about its bearer."""

    subject: str
    role: Role
    school: str
    lesson: str
    grants: tuple[str, ...]
    expires_at: int


def covers_lesson(claims: Claims, lesson_id: str) -> bool:
    """True if the token's lesson scope includes ``lesson_id``."""
    return claims.lesson == ANY_LESSON or claims.lesson == lesson_id


def can_manage_lessons(claims: Claims) -> bool:
    """Teachers and admins create and end lessons."""
    return claims.role in (Role.TEACHER, Role.ADMIN)


def can_publish(claims: Claims, lesson: Lesson) -> bool:
    """Only the lesson's own teacher broadcasts into it (admins cannot publish)."""
    return claims.role is Role.TEACHER and covers_lesson(claims, lesson.id) and lesson.teacher == claims.subject


def can_view(claims: Claims, lesson_id: str) -> bool:
    """Every role may watch a lesson its scope covers."""
    return claims.role in tuple(Role) and covers_lesson(claims, lesson_id)


def can_interact(claims: Claims, lesson_id: str) -> bool:
    """Teachers and remote classrooms take part (stage, hands, training line)."""
    return claims.role in (Role.TEACHER, Role.CLASSROOM) and covers_lesson(claims, lesson_id)
