"""Mutual credit recognition (学分互认): how a home school counts credits earned at another school.

A credit earned in an eastern school's lesson is pending at the student's home school until an
admin there posts it (it becomes recognised credits, which decide the level) or voids it. Rules,
set by the home school, map the teaching school's course to one of the home school's courses and
scale the credits (``factor_pct`` = 100 counts them one for one).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classroom.errors import ValidationError
from classroom.fields import clean_text, reject_unknown

__all__ = ["MAX_FACTOR_PCT", "RecognitionRule", "RecognitionStatus", "new_rule", "recognised_amount"]

MAX_FACTOR_PCT = 200
_ID_CHARS = 100


class RecognitionStatus(str, enum.Enum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    REVERSED = "reversed"
    """the earned credit itself was reversed before the home school decided"""


@dataclass(frozen=True)
class RecognitionRule:
    home_school: str
    lesson_school: str
    course: str
    home_course: str
    factor_pct: int

    def to_json(self) -> dict[str, Any]:
        return {"home_school": self.home_school, "lesson_school": self.lesson_school, "course": self.course,
                "home_course": self.home_course, "factor_pct": self.factor_pct}


def _identifier(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required")
    if len(value.strip()) > _ID_CHARS:
        raise ValidationError(f"{field} must be at most {_ID_CHARS} characters")
    return clean_text(field, value.strip())


def new_rule(home_school: str, body: Mapping[str, Any]) -> RecognitionRule:
    """A rule of ``home_school`` from a request body; ValidationError names the bad field."""
    reject_unknown(body, {"lesson_school", "course", "home_course", "factor_pct"})
    factor = body.get("factor_pct", 100)
    if isinstance(factor, bool) or not isinstance(factor, int) or not 1 <= factor <= MAX_FACTOR_PCT:
        raise ValidationError(f"factor_pct must be a whole number from 1 to {MAX_FACTOR_PCT}")
    lesson_school = _identifier(body, "lesson_school")
    if lesson_school == home_school:
        raise ValidationError("a school's own credits are recognised without a rule")
    return RecognitionRule(home_school=home_school, lesson_school=lesson_school, course=_identifier(body, "course"),
                           home_course=_identifier(body, "home_course"), factor_pct=factor)


def recognised_amount(earned_centi: int, rule: RecognitionRule) -> int:
    """Centi-credits the home school counts for ``earned_centi`` (rounded half up)."""
    return (earned_centi * rule.factor_pct + 50) // 100
