"""Presence events: what the server records while a lesson runs, as plain frozen facts.

Events are recorded in arrival order but never interpreted in it: ``event_order`` gives the
one deterministic order in which ``compute_attendance`` reads them. The wire form
(``to_json``/``from_json``) is what the event store keeps; ``from_json`` checks the fields a
kind needs and raises ValidationError on anything else.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from classroom.errors import ValidationError

__all__ = ["MAX_FIELD_CHARS", "REQUIRED_FIELDS", "PresenceEvent", "PresenceKind", "event_order"]

MAX_FIELD_CHARS = 200


class PresenceKind(str, enum.Enum):
    """What happened. The declaration order is the tie-break order for events at the same instant."""

    CLASSROOM_JOIN = "classroom.join"
    CLASSROOM_HEARTBEAT = "classroom.heartbeat"
    CLASSROOM_LEAVE = "classroom.leave"
    STUDENT_CHECKIN = "student.checkin"
    STUDENT_CHECKOUT = "student.checkout"
    ROLLCALL_OPEN = "rollcall.open"
    ROLLCALL_ANSWER = "rollcall.answer"


_KIND_ORDER = {kind: rank for rank, kind in enumerate(PresenceKind)}
_TEXT_FIELDS = frozenset({"lesson", "classroom", "session", "student", "source", "rollcall", "key"})

REQUIRED_FIELDS: Mapping[PresenceKind, tuple[str, ...]] = {
    PresenceKind.CLASSROOM_JOIN: ("classroom", "session"),
    PresenceKind.CLASSROOM_HEARTBEAT: ("classroom", "session"),
    PresenceKind.CLASSROOM_LEAVE: ("classroom", "session"),
    PresenceKind.STUDENT_CHECKIN: ("classroom", "student"),
    PresenceKind.STUDENT_CHECKOUT: ("classroom", "student"),
    PresenceKind.ROLLCALL_OPEN: ("rollcall",),
    PresenceKind.ROLLCALL_ANSWER: ("classroom", "student", "rollcall"),
}
"""The text fields ``from_json`` requires to be non-empty, per kind."""


@dataclass(frozen=True)
class PresenceEvent:
    """One presence fact about one lesson at one server time (seconds since the epoch)."""

    lesson: str
    kind: PresenceKind
    at: float
    classroom: str = ""
    session: str = ""
    student: str = ""
    source: str = ""
    rollcall: str = ""
    key: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``kind`` is its string value."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PresenceEvent:
        """Parse the wire form; ValidationError on unknown or missing fields, wrong types or bad values."""
        if not isinstance(data, Mapping):
            raise ValidationError("a presence event must be an object")
        unknown = sorted(set(data) - _TEXT_FIELDS - {"kind", "at"})
        if unknown:
            raise ValidationError(f"unknown presence event fields: {', '.join(map(str, unknown))}")
        kind = _kind(data.get("kind"))
        text = {name: _text(name, data.get(name, "")) for name in sorted(_TEXT_FIELDS)}
        if not text["lesson"]:
            raise ValidationError("lesson must not be empty")
        for name in REQUIRED_FIELDS[kind]:
            if not text[name]:
                raise ValidationError(f"{name} must not be empty for {kind.value}")
        return cls(kind=kind, at=_time(data.get("at")), **text)


def event_order(event: PresenceEvent) -> tuple[float, int, str, str, str, str, str, str]:
    """The sort key: (at, kind order, classroom, session, student, rollcall, source, key)."""
    return (
        event.at,
        _KIND_ORDER[event.kind],
        event.classroom,
        event.session,
        event.student,
        event.rollcall,
        event.source,
        event.key,
    )


def _kind(value: object) -> PresenceKind:
    try:
        return PresenceKind(value)
    except (TypeError, ValueError):
        raise ValidationError(f"unknown presence event kind: {value!r}") from None


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string")
    if len(value) > MAX_FIELD_CHARS:
        raise ValidationError(f"{name} must be at most {MAX_FIELD_CHARS} characters")
    return value


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError("at must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ValidationError("at must be a finite, non-negative number of seconds")
    return float(value)
