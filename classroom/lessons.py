"""The lesson entity and its state machine: scheduled -> live -> ended (or scheduled -> ended)."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from classroom.errors import InvalidTransition, ValidationError
from classroom.principal import Principal
from classroom.roles import Role

__all__ = [
    "MAX_ID_CHARS",
    "MAX_NAME_CHARS",
    "MAX_TITLE_CHARS",
    "Lesson",
    "LessonState",
    "end",
    "go_live",
    "new_lesson",
]

MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 100
MAX_ID_CHARS = 64


class LessonState(str, enum.Enum):
    """Where a lesson is in its life."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True)
class Lesson:
    """One live lesson taught by one teacher of one school."""

    id: str
    title: str
    school: str
    teacher: str
    course: str | None
    state: LessonState
    recording: bool
    created_at: float
    started_at: float | None
    ended_at: float | None

    @property
    def teacher_principal(self) -> Principal:
        """The teacher as a principal: a teacher of the lesson's own school."""
        return Principal(self.school, Role.TEACHER, self.teacher)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``state`` is its string value."""
        data = dataclasses.asdict(self)
        data["state"] = self.state.value
        return data


def go_live(lesson: Lesson, now: float) -> Lesson:
    """scheduled -> live; live stays live (same object); ended raises InvalidTransition."""
    if lesson.state is LessonState.LIVE:
        return lesson
    if lesson.state is LessonState.ENDED:
        raise InvalidTransition(f"lesson {lesson.id} has ended and cannot go live")
    return dataclasses.replace(lesson, state=LessonState.LIVE, started_at=now)


def end(lesson: Lesson, now: float) -> Lesson:
    """scheduled or live -> ended; ended raises InvalidTransition."""
    if lesson.state is LessonState.ENDED:
        raise InvalidTransition(f"lesson {lesson.id} has already ended")
    return dataclasses.replace(lesson, state=LessonState.ENDED, ended_at=now)


def _text(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string")
    text = value.strip()
    if not text:
        raise ValidationError(f"{field} must not be empty")
    if len(text) > limit:
        raise ValidationError(f"{field} must be at most {limit} characters")
    return text


def new_lesson(
    id: str,
    title: str,
    school: str,
    teacher: str,
    course: str | None,
    recording: bool,
    now: float,
) -> Lesson:
    """Validate the fields of a new, scheduled lesson; raise ValidationError on bad input."""
    if not isinstance(recording, bool):
        raise ValidationError("recording must be true or false")
    return Lesson(
        id=_text("id", id, MAX_ID_CHARS),
        title=_text("title", title, MAX_TITLE_CHARS),
        school=_text("school", school, MAX_NAME_CHARS),
        teacher=_text("teacher", teacher, MAX_NAME_CHARS),
        course=None if course is None else _text("course", course, MAX_NAME_CHARS),
        state=LessonState.SCHEDULED,
        recording=recording,
        created_at=now,
        started_at=None,
        ended_at=None,
    )
