"""The people directory of the credit bank: schools, classrooms, students, courses, enrolments.

Pure entities and validators. Every validator raises :class:`FieldError` (a ValidationError) whose
``field`` names the offending input and whose message starts with that name.

Formats:

- ids (school, classroom, course): 1-64 characters of letters, digits, ``.``, ``_`` and ``-``,
  starting with a letter or digit; case is kept.
- skill-worker code (技工码): 6-32 characters of ``A-Z``, ``0-9`` and ``-``; lower case is accepted
  and normalised to upper case. Unique across all schools.
- names and titles: any text (Chinese included) without control characters, surrounding
  whitespace removed; names up to 100 characters, titles up to 200, regions up to 100.
- credits per lesson attended: a decimal with at most two decimals, ``0 < credits <= 20``, given as
  a string (``"1.5"``) or a JSON number; stored exactly as integer centi-credits (``150``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from classroom import credits as amounts
from classroom.credits import format_credits
from classroom.errors import ValidationError
from classroom.fields import text_problem

__all__ = [
    "MAX_CREDITS_CENTI",
    "MAX_ID_CHARS",
    "MAX_NAME_CHARS",
    "MAX_TITLE_CHARS",
    "Classroom",
    "Course",
    "Enrolment",
    "FieldError",
    "School",
    "Student",
    "format_credits",
    "new_classroom",
    "new_course",
    "new_school",
    "new_student",
    "normalise_code",
    "parse_credits",
    "validate_id",
    "validate_name",
]

MAX_ID_CHARS = 64
MAX_NAME_CHARS = 100
MAX_TITLE_CHARS = 200
MAX_CREDITS_CENTI = 2000
"""20 credits per lesson."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CODE = re.compile(r"[A-Z0-9-]{6,32}")


class FieldError(ValidationError):
    """One input field is malformed; ``field`` names it, the message starts with it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


@dataclass(frozen=True)
class School:
    """A school: the eastern teaching school or a western partner."""

    id: str
    name: str
    region: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "region": self.region}


@dataclass(frozen=True)
class Classroom:
    """A room with one screen at one school; a classroom token's subject is its id."""

    id: str
    school: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "school": self.school, "name": self.name}


@dataclass(frozen=True)
class Student:
    """A student, known by the skill-worker code, at a home school and in one of its classrooms."""

    code: str
    name: str
    school: str
    classroom: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "school": self.school, "classroom": self.classroom}


@dataclass(frozen=True)
class Course:
    """A course of the school that teaches it, worth ``credits_centi`` / 100 credits per lesson."""

    id: str
    school: str
    title: str
    credits_centi: int

    def to_json(self) -> dict[str, Any]:
        """``credits`` is an exact decimal string (``"1.50"``); ``credits_centi`` the stored integer."""
        return {
            "id": self.id,
            "school": self.school,
            "title": self.title,
            "credits": format_credits(self.credits_centi),
            "credits_centi": self.credits_centi,
        }


@dataclass(frozen=True)
class Enrolment:
    """A student enrolled in a course."""

    course: str
    student: str

    def to_json(self) -> dict[str, Any]:
        return {"course": self.course, "student": self.student}


def _string(field: str, value: object) -> str:
    if value is None:
        raise FieldError(field, "is required")
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    text = value.strip()
    if not text:
        raise FieldError(field, "must not be empty")
    return text


def validate_id(field: str, value: object) -> str:
    """A school, classroom or course id; raises FieldError."""
    text = _string(field, value)
    if not _ID.fullmatch(text):
        raise FieldError(field, f"must be 1-{MAX_ID_CHARS} characters of letters, digits, '.', '_' and '-'")
    return text


def validate_name(field: str, value: object, limit: int = MAX_NAME_CHARS) -> str:
    """Non-empty text without control characters, at most ``limit`` characters; raises FieldError."""
    text = _string(field, value)
    if len(text) > limit:
        raise FieldError(field, f"must be at most {limit} characters")
    problem = text_problem(text, lines=False)
    if problem is not None:
        raise FieldError(field, problem)
    return text


def normalise_code(value: object, field: str = "code") -> str:
    """A skill-worker code in upper case; raises FieldError."""
    text = _string(field, value).upper()
    if not _CODE.fullmatch(text):
        raise FieldError(field, "must be 6-32 characters of A-Z, 0-9 and '-'")
    return text


def parse_credits(value: object) -> int:
    """Credits per lesson as integer centi-credits; raises FieldError."""
    try:
        centi = amounts.parse_credits(value)
    except amounts.CreditAmountError as exc:
        raise FieldError("credits", exc.problem) from None
    if not 0 < centi <= MAX_CREDITS_CENTI:
        raise FieldError("credits", f"must be more than 0 and at most {MAX_CREDITS_CENTI // 100}")
    return centi


def new_school(id: object, name: object, region: object = None) -> School:
    """A validated school; ``region`` is optional."""
    return School(
        id=validate_id("id", id),
        name=validate_name("name", name),
        region=None if region is None else validate_name("region", region),
    )


def new_classroom(id: object, school: object, name: object) -> Classroom:
    """A validated classroom of ``school``."""
    return Classroom(id=validate_id("id", id), school=validate_id("school", school), name=validate_name("name", name))


def new_student(code: object, name: object, school: object, classroom: object) -> Student:
    """A validated student; the code is normalised to upper case."""
    return Student(
        code=normalise_code(code),
        name=validate_name("name", name),
        school=validate_id("school", school),
        classroom=validate_id("classroom", classroom),
    )


def new_course(id: object, school: object, title: object, credits: object) -> Course:
    """A validated course taught by ``school``."""
    return Course(
        id=validate_id("id", id),
        school=validate_id("school", school),
        title=validate_name("title", title, MAX_TITLE_CHARS),
        credits_centi=parse_credits(credits),
    )
