"""Attendance of one lesson, computed from its presence events: a pure, deterministic function.

The rules (docs/attendance.md explains them for admins):

1. Events are sorted with ``event_order`` first, so their input order never matters, and events
   with the same content count once (the idempotency ``key`` is not content). Events of other
   lessons are ignored; an event missing a field its kind needs is a ValidationError.
2. A classroom's connectivity: each session runs from its join to its leave; a session that drops
   without a leave ends at its last heartbeat (at its join if it never beat); a session without a
   join starts at its earliest event. A classroom's sessions are merged (overlaps are reconnects),
   gaps of at most ``reconnect_grace_s`` are bridged, the result is clipped to the lesson window,
   and the classroom's excused outages (clipped too) are added.
3. A student's presence in a classroom starts at a check-in (any source) or at a roll-call answer
   naming them, and ends at a check-out. A roll call opened at t ends, at t, the presence of every
   student checked in to a classroom whose connection was up at t (bridged sessions, excuses not
   counted) unless that classroom answered that roll call for that student within
   [t, t + rollcall_answer_s]; a silent classroom therefore loses all its students. A roll call
   whose ``rollcall.open`` names a classroom applies to that classroom only. Presence still open
   at the end runs to the window's end.
4. Counted time = the union over classrooms of (presence in C ∩ connectivity of C), in the window.
5. share = seconds / window length (0 for an empty window). EXCUSED if a whole-lesson excuse
   names the student; else ABSENT without counted time; else LATE if the first counted instant is
   after start + late_grace_s, LEFT_EARLY if the last is before end - early_grace_s, else PRESENT
   (both flags are always reported). Credit: PRESENT, LATE or LEFT_EARLY with share >= min_share.
6. Students: the expected ones plus everyone named by student events, sorted by code.
   Classrooms: every classroom named by events or by the expected students, sorted.

The work is linear in the events after one sort, on interval lists, never per-second arrays.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from classroom.attendance.events import REQUIRED_FIELDS, PresenceEvent, PresenceKind, event_order
from classroom.attendance.intervals import Interval, clip, covers, intersect, merge, total, union
from classroom.attendance.policy import Policy
from classroom.errors import ValidationError

__all__ = [
    "CREDITED",
    "ClassroomAttendance",
    "Excuse",
    "ExpectedStudent",
    "LessonAttendance",
    "Status",
    "StudentAttendance",
    "compute_attendance",
]

_SHARE_EPSILON = 1e-9


class Status(str, enum.Enum):
    """A student's attendance status for one lesson."""

    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    ABSENT = "absent"
    EXCUSED = "excused"


CREDITED = frozenset({Status.PRESENT, Status.LATE, Status.LEFT_EARLY})
"""The statuses that can earn credit."""


@dataclass(frozen=True)
class ExpectedStudent:
    """A student enrolled in the lesson's course, with their roster classroom ("" if unknown)."""

    code: str
    classroom: str

    def __post_init__(self) -> None:
        if not self.code:
            raise ValidationError("an expected student needs a code")


@dataclass(frozen=True)
class Excuse:
    """A student excused for the whole lesson, or a classroom outage counted as connected time."""

    reason: str
    student: str = ""
    classroom: str = ""
    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValidationError("an excuse needs a reason")
        if not (self.student or self.classroom):
            raise ValidationError("an excuse names a student or a classroom")
        if self.student and (self.start is not None or self.end is not None):
            raise ValidationError("a student's excuse covers the whole lesson: leave start and end unset")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValidationError("an excused outage starts after it ends")

    def outage(self, window: Interval) -> Interval | None:
        """The excused outage in the window (open ends are the window's); None for a student excuse."""
        if self.student:
            return None
        start = max(window.start, window.start if self.start is None else self.start)
        end = min(window.end, window.end if self.end is None else self.end)
        return Interval(start, end) if start < end else None


@dataclass(frozen=True)
class ClassroomAttendance:
    """How long one classroom was connected to the lesson."""

    classroom: str
    sessions: int
    intervals: tuple[Interval, ...]
    seconds: float
    share: float

    def to_json(self) -> dict[str, Any]:
        return _row_json(self)


@dataclass(frozen=True)
class StudentAttendance:
    """One student's counted time, status and credit for one lesson."""

    student: str
    classrooms: tuple[str, ...]
    intervals: tuple[Interval, ...]
    seconds: float
    share: float
    status: Status
    late: bool
    left_early: bool
    credit: bool
    computed_status: Status
    override_reason: str = ""
    override_author: str = ""
    roster_classroom: str = ""

    def to_json(self) -> dict[str, Any]:
        return _row_json(self)


@dataclass(frozen=True)
class LessonAttendance:
    """The attendance of one lesson under one policy version."""

    lesson: str
    policy_version: str
    window: Interval
    classrooms: tuple[ClassroomAttendance, ...]
    students: tuple[StudentAttendance, ...]

    def student(self, code: str) -> StudentAttendance | None:
        return next((row for row in self.students if row.student == code), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: statuses as strings, intervals as {"start", "end"}, minutes beside seconds."""
        return {
            "lesson": self.lesson,
            "policy_version": self.policy_version,
            "window": self.window.to_json(),
            "window_seconds": self.window.length,
            "window_minutes": _minutes(self.window.length),
            "classrooms": [row.to_json() for row in self.classrooms],
            "students": [row.to_json() for row in self.students],
        }


def compute_attendance(
    lesson: str,
    window: Interval,
    events: Iterable[PresenceEvent],
    expected: Iterable[ExpectedStudent],
    excuses: Iterable[Excuse],
    policy: Policy,
) -> LessonAttendance:
    """Apply the rules of the module docstring; the same inputs in any order give the same result."""
    ordered = _ordered(lesson, events)
    roster = _roster(expected)
    excuses = tuple(excuses)
    sessions = _sessions(ordered)
    bridged = {room: merge(spans, policy.reconnect_grace_s) for room, spans in sessions.items()}
    presence = _presence(ordered, bridged, window, policy)
    names = {room for room in roster.values() if room} | {e.classroom for e in ordered if e.classroom}
    connected = {room: _connectivity(room, bridged.get(room, ()), excuses, window) for room in sorted(names)}
    excused = {excuse.student for excuse in excuses if excuse.student}
    codes = set(roster) | {e.student for e in ordered if e.student}
    return LessonAttendance(
        lesson=lesson,
        policy_version=policy.version,
        window=window,
        classrooms=tuple(
            ClassroomAttendance(room, len(sessions.get(room, ())), spans, *_measure(spans, window))
            for room, spans in connected.items()
        ),
        students=tuple(
            _student(code, roster.get(code, ""), presence.get(code, {}), connected, code in excused, window, policy)
            for code in sorted(codes)
        ),
    )


def _ordered(lesson: str, events: Iterable[PresenceEvent]) -> list[PresenceEvent]:
    unique: dict[tuple[object, ...], PresenceEvent] = {}
    for event in events:
        if event.lesson != lesson:
            continue
        missing = [name for name in REQUIRED_FIELDS[event.kind] if not getattr(event, name)]
        if missing:
            raise ValidationError(f"{event.kind.value} event at {event.at} lacks {', '.join(missing)}")
        unique[event_order(event)[:-1]] = event
    return sorted(unique.values(), key=event_order)


def _roster(expected: Iterable[ExpectedStudent]) -> dict[str, str]:
    roster: dict[str, str] = {}
    for row in expected:
        if roster.setdefault(row.code, row.classroom) != row.classroom:
            raise ValidationError(f"student {row.code} is expected in two classrooms")
    return roster


_SESSION_KINDS = (PresenceKind.CLASSROOM_JOIN, PresenceKind.CLASSROOM_HEARTBEAT, PresenceKind.CLASSROOM_LEAVE)


def _sessions(ordered: list[PresenceEvent]) -> dict[str, list[Interval]]:
    """Each classroom's session spans (rule 2, before merging)."""
    seen: dict[tuple[str, str], dict[PresenceKind | None, float]] = {}  # None: the earliest event
    for event in ordered:
        if event.kind in _SESSION_KINDS:
            marks = seen.setdefault((event.classroom, event.session), {None: event.at})
            if event.kind is not PresenceKind.CLASSROOM_JOIN or event.kind not in marks:
                marks[event.kind] = event.at  # the first join, the last heartbeat, the last leave
    spans: dict[str, list[Interval]] = defaultdict(list)
    for (room, _), marks in seen.items():
        start = marks.get(PresenceKind.CLASSROOM_JOIN, marks[None])
        end = marks.get(PresenceKind.CLASSROOM_LEAVE, marks.get(PresenceKind.CLASSROOM_HEARTBEAT, start))
        spans[room].append(Interval(start, max(start, end)))
    return spans


def _connectivity(
    room: str, bridged: tuple[Interval, ...], excuses: tuple[Excuse, ...], window: Interval
) -> tuple[Interval, ...]:
    outages = (excuse.outage(window) for excuse in excuses if excuse.classroom == room)
    return union(clip(bridged, window), (outage for outage in outages if outage is not None))


class _Rooms:
    """Who is checked in where while the events are replayed in order (rule 3); local and mutable."""

    def __init__(self, ordered: list[PresenceEvent], up: Mapping[str, tuple[Interval, ...]], answer_s: float):
        self.up, self.answer_s = up, answer_s
        self.answers: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
        for event in ordered:
            if event.kind is PresenceKind.ROLLCALL_ANSWER:
                self.answers[(event.classroom, event.rollcall)].append((event.at, event.student))
        self.here: dict[str, dict[str, float]] = defaultdict(dict)  # classroom -> student -> since
        self.spans: dict[str, dict[str, list[Interval]]] = defaultdict(lambda: defaultdict(list))

    def enter(self, event: PresenceEvent) -> None:
        self.here[event.classroom].setdefault(event.student, event.at)

    def leave(self, event: PresenceEvent) -> None:
        self._end(event.classroom, event.student, event.at)

    def rollcall(self, event: PresenceEvent) -> None:
        for room in [room for room in self.here if self._asked(room, event)]:
            deadline = event.at + self.answer_s
            answered = {who for at, who in self.answers.get((room, event.rollcall), ()) if event.at <= at <= deadline}
            for student in [student for student in self.here[room] if student not in answered]:
                self._end(room, student, event.at)

    def close(self, end: float) -> dict[str, dict[str, list[Interval]]]:
        for room, students in self.here.items():
            for student in list(students):
                self._end(room, student, end)
        return self.spans

    def _asked(self, room: str, event: PresenceEvent) -> bool:
        return (not event.classroom or room == event.classroom) and covers(self.up.get(room, ()), event.at)

    def _end(self, room: str, student: str, at: float) -> None:
        since = self.here[room].pop(student, None)
        if since is not None:
            self.spans[student][room].append(Interval(since, max(since, at)))


_PRESENCE_STEPS: Mapping[PresenceKind, Callable[[_Rooms, PresenceEvent], None]] = {
    PresenceKind.STUDENT_CHECKIN: _Rooms.enter,
    PresenceKind.ROLLCALL_ANSWER: _Rooms.enter,
    PresenceKind.STUDENT_CHECKOUT: _Rooms.leave,
    PresenceKind.ROLLCALL_OPEN: _Rooms.rollcall,
}


def _presence(
    ordered: list[PresenceEvent], up: Mapping[str, tuple[Interval, ...]], window: Interval, policy: Policy
) -> dict[str, dict[str, list[Interval]]]:
    """student -> classroom -> presence spans (rule 3)."""
    rooms = _Rooms(ordered, up, policy.rollcall_answer_s)
    for event in ordered:
        step = _PRESENCE_STEPS.get(event.kind)
        if step is not None:
            step(rooms, event)
    return rooms.close(window.end)


def _student(
    code: str,
    roster_classroom: str,
    presence: Mapping[str, list[Interval]],
    connected: Mapping[str, tuple[Interval, ...]],
    excused: bool,
    window: Interval,
    policy: Policy,
) -> StudentAttendance:
    counted = union(*(intersect(spans, connected.get(room, ())) for room, spans in presence.items()))
    seconds, share = _measure(counted, window)
    late = bool(counted) and counted[0].start > window.start + policy.late_grace_s
    left_early = bool(counted) and counted[-1].end < window.end - policy.early_grace_s
    status = _status(counted, late, left_early, excused)
    return StudentAttendance(
        student=code,
        classrooms=tuple(sorted(presence)),
        intervals=counted,
        seconds=seconds,
        share=share,
        status=status,
        late=late,
        left_early=left_early,
        credit=status in CREDITED and share + _SHARE_EPSILON >= policy.min_share,
        computed_status=status,
        roster_classroom=roster_classroom,
    )


def _status(counted: tuple[Interval, ...], late: bool, left_early: bool, excused: bool) -> Status:
    if excused:
        return Status.EXCUSED
    if not counted:
        return Status.ABSENT
    if late:
        return Status.LATE
    return Status.LEFT_EARLY if left_early else Status.PRESENT


def _measure(spans: tuple[Interval, ...], window: Interval) -> tuple[float, float]:
    """(seconds, share), capped at the window so float sums never exceed it."""
    seconds = min(total(spans), window.length)
    return seconds, (seconds / window.length if window.length > 0 else 0.0)


def _minutes(seconds: float) -> float:
    return round(seconds / 60.0, 2)


def _row_json(row: ClassroomAttendance | StudentAttendance) -> dict[str, Any]:
    """Fields as JSON: enums as their values, tuples as lists, intervals as dicts, minutes beside seconds."""
    data = {field.name: getattr(row, field.name) for field in fields(row)}
    data.update(intervals=[span.to_json() for span in row.intervals], minutes=_minutes(row.seconds))
    return {name: _plain(value) for name, value in data.items()}


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    return list(value) if isinstance(value, tuple) else value
