"""The lessons use cases: authorise, validate with the pure domain, persist, notify."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from classroom import lessons as domain
from classroom.access import ANY_LESSON, Claims, can_manage_lessons, can_view, covers_lesson, is_teacher_of
from classroom.errors import PermissionDenied, ValidationError
from classroom.lessons import Lesson
from classroom.roles import Role
from server.lessons.store import LessonStore

__all__ = ["CREATE_FIELDS", "EndedListener", "Lessons", "LiveListener"]

log = logging.getLogger(__name__)

EndedListener = Callable[[str], Awaitable[None]]
LiveListener = Callable[[Lesson], Awaitable[None]]
CourseSchool = Callable[[str], Awaitable[str | None]]
"""The school that teaches a course, or None for an unknown course."""
CREATE_FIELDS = frozenset({"title", "teacher", "course", "recording"})


def _new_id() -> str:
    return secrets.token_hex(8)


class Lessons:
    """Creates, lists, starts and ends lessons on top of a LessonStore."""

    def __init__(
        self,
        store: LessonStore,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = _new_id,
        course_school: CourseSchool | None = None,
    ) -> None:
        self.store = store
        self._course_school = course_school
        self.on_ended: list[EndedListener] = []
        self.on_live: list[LiveListener] = []
        """awaited on every go_live (each time the teacher publishes), also when already live"""
        self._clock = clock
        self._new_id = new_id
        self._transitions = asyncio.Lock()

    async def create(self, claims: Claims, body: Mapping[str, Any]) -> Lesson:
        """A new scheduled lesson of the caller's school; raises PermissionDenied/ValidationError."""
        if not can_manage_lessons(claims) or claims.lesson != ANY_LESSON:
            raise PermissionDenied("only teachers and admins with an all-lessons token create lessons")
        unknown = set(body) - CREATE_FIELDS
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
        lesson = domain.new_lesson(
            id=self._new_id(),
            title=body.get("title"),  # type: ignore[arg-type]  # validated by new_lesson
            school=claims.school,
            teacher=_teacher_of(claims, body),
            course=body.get("course"),
            recording=body.get("recording", True),
            now=self._clock(),
        )
        await self._check_course(lesson)
        await self.store.create(lesson)
        log.info("lesson created lesson=%s teacher=%s school=%s", lesson.id, lesson.teacher, lesson.school)
        return lesson

    async def _check_course(self, lesson: Lesson) -> None:
        """A lesson's course must be one its own school teaches: its credits go into that school's books."""
        if lesson.course is None or self._course_school is None:
            return
        school = await self._course_school(lesson.course)
        if school is None:
            raise ValidationError(f"course {lesson.course} is not in the directory")
        if school != lesson.school:
            raise ValidationError(f"course {lesson.course} is taught by school {school}, not {lesson.school}")

    async def get(self, lesson_id: str, claims: Claims | None = None) -> Lesson:
        """The lesson; with ``claims``, only if the caller may view it (scope checked first)."""
        if claims is not None and not can_view(claims, lesson_id):
            raise PermissionDenied(f"token does not cover lesson {lesson_id}")
        return await self.store.get(lesson_id)

    async def all_started(self) -> list[Lesson]:
        """Every lesson of every school that went live, oldest first (no access check)."""
        found = await self.store.list(None)
        return sorted((lesson for lesson in found if lesson.started_at is not None),
                      key=lambda lesson: lesson.started_at or 0)

    async def list(self, claims: Claims) -> list[Lesson]:
        """Teachers and admins see their school's lessons; every token sees only its scope."""
        school = claims.school if claims.role in (Role.TEACHER, Role.ADMIN) else None
        found = await self.store.list(school)
        return [lesson for lesson in found if covers_lesson(claims, lesson.id)]

    async def go_live(self, lesson_id: str) -> Lesson:
        """scheduled -> live (no-op if live); raises InvalidTransition if ended."""
        async with self._transitions:
            lesson = await self.store.get(lesson_id)
            live = domain.go_live(lesson, self._clock())
            if live is not lesson:
                await self.store.update(live)
                log.info("lesson live lesson=%s", lesson_id)
        for listener in list(self.on_live):
            try:
                await listener(live)
            except Exception:
                log.exception("on_live listener failed lesson=%s listener=%r", lesson_id, listener)
        return live

    async def end(self, claims: Claims, lesson_id: str) -> Lesson:
        """End the lesson (its teacher or an admin of its school), then notify listeners."""
        if not can_manage_lessons(claims) or not covers_lesson(claims, lesson_id):
            raise PermissionDenied(f"token may not end lesson {lesson_id}")
        async with self._transitions:
            lesson = await self.store.get(lesson_id)
            _check_may_end(claims, lesson)
            ended = domain.end(lesson, self._clock())
            await self.store.update(ended)
        log.info("lesson ended lesson=%s by=%s", lesson_id, claims.principal)
        await self._notify_ended(lesson_id)
        return ended

    async def _notify_ended(self, lesson_id: str) -> None:
        for listener in list(self.on_ended):
            try:
                await listener(lesson_id)
            except Exception:
                log.exception("on_ended listener failed lesson=%s listener=%r", lesson_id, listener)


def _teacher_of(claims: Claims, body: Mapping[str, Any]) -> str:
    named = body.get("teacher")
    if claims.role is Role.ADMIN:
        if named is None:
            raise ValidationError("teacher is required when an admin creates a lesson")
        if not isinstance(named, str):
            raise ValidationError("teacher must be a string")
        return named
    if named is not None and named != claims.subject:
        raise PermissionDenied("teachers create lessons only for themselves")
    return claims.subject


def _check_may_end(claims: Claims, lesson: Lesson) -> None:
    own = is_teacher_of(claims, lesson)
    school_admin = claims.role is Role.ADMIN and lesson.school == claims.school
    if not (own or school_admin):
        raise PermissionDenied(f"only the teacher or an admin of its school may end {lesson.id}")
