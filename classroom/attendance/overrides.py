"""Admin overrides: a person's judgement replaces the computed status of one student.

The computed status stays on the record (``computed_status``) beside the override's reason and
author, so every overridden status can be explained and audited. Credit follows the override:
an admin who marks a student present grants credit whatever the share was.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from classroom.attendance.compute import CREDITED, LessonAttendance, Status, StudentAttendance
from classroom.errors import ValidationError

__all__ = ["Override", "apply_overrides"]


@dataclass(frozen=True)
class Override:
    """An admin sets ``student``'s status, for ``reason``, at server time ``at``."""

    student: str
    status: Status
    reason: str
    author: str
    at: float

    def __post_init__(self) -> None:
        if not self.student:
            raise ValidationError("an override names a student")
        if not isinstance(self.status, Status):
            raise ValidationError(f"an override's status must be one of: {', '.join(s.value for s in Status)}")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValidationError("an override needs a reason")
        if not math.isfinite(self.at):
            raise ValidationError("an override's time must be a finite number")

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "status": self.status.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Override:
        """Parse the wire form; ValidationError on a missing field, a bad status or an empty reason."""
        try:
            status = Status(data["status"])
            texts = {name: data[name] for name in ("student", "reason", "author")}
            at = data["at"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValidationError(f"malformed override: {error}") from None
        if any(not isinstance(text, str) for text in texts.values()):
            raise ValidationError("an override's student, reason and author must be strings")
        if isinstance(at, bool) or not isinstance(at, int | float):
            raise ValidationError("an override's time must be a number")
        return cls(status=status, at=float(at), **texts)


def apply_overrides(attendance: LessonAttendance, overrides: Iterable[Override]) -> LessonAttendance:
    """The latest override per student (by ``at``, then input order) replaces their status and credit."""
    known = {row.student for row in attendance.students}
    latest: dict[str, Override] = {}
    for override in overrides:
        if override.student not in known:
            raise ValidationError(f"student {override.student} is not in the attendance of {attendance.lesson}")
        if override.student not in latest or override.at >= latest[override.student].at:
            latest[override.student] = override
    students = tuple(_overridden(row, latest.get(row.student)) for row in attendance.students)
    return dataclasses.replace(attendance, students=students)


def _overridden(row: StudentAttendance, override: Override | None) -> StudentAttendance:
    if override is None:
        return row
    return dataclasses.replace(
        row,
        status=override.status,
        credit=override.status in CREDITED,
        override_reason=override.reason,
        override_author=override.author,
    )
