"""Attendance tests. The builders below write presence events in minutes from the lesson start."""

from __future__ import annotations

from classroom.attendance import Interval, PresenceEvent, PresenceKind

LESSON = "L1"
T0 = 1_800_000_000.0
"""The lesson window starts here (server time); it lasts one hour."""
WINDOW = Interval(T0, T0 + 3600.0)
BEAT_S = 15.0


def at(minute: float) -> float:
    return T0 + minute * 60.0


def event(kind: PresenceKind, minute: float, **fields: str) -> PresenceEvent:
    return PresenceEvent(lesson=LESSON, kind=kind, at=at(minute), **fields)


def connected(room: str, start: float, end: float, session: str = "s1", leave: bool = True) -> list[PresenceEvent]:
    """A session from minute ``start``: a join, heartbeats every 15 s up to minute ``end``, then a leave (or not)."""
    events = [event(PresenceKind.CLASSROOM_JOIN, start, classroom=room, session=session, source="server")]
    beats = int((at(end) - at(start)) // BEAT_S)
    for step in range(1, beats + 1):
        beat = at(start) + step * BEAT_S
        events.append(PresenceEvent(LESSON, PresenceKind.CLASSROOM_HEARTBEAT, beat, room, session, source="server"))
    if leave:
        events.append(event(PresenceKind.CLASSROOM_LEAVE, end, classroom=room, session=session, source="server"))
    return events


def checkin(student: str, room: str, minute: float, source: str = "roster") -> PresenceEvent:
    return event(PresenceKind.STUDENT_CHECKIN, minute, classroom=room, student=student, source=source)


def checkout(student: str, room: str, minute: float) -> PresenceEvent:
    return event(PresenceKind.STUDENT_CHECKOUT, minute, classroom=room, student=student, source="roster")


def rollcall(rollcall_id: str, minute: float, room: str = "") -> PresenceEvent:
    return event(PresenceKind.ROLLCALL_OPEN, minute, rollcall=rollcall_id, classroom=room, source="server")


def answer(rollcall_id: str, room: str, student: str, minute: float) -> PresenceEvent:
    return event(
        PresenceKind.ROLLCALL_ANSWER, minute, rollcall=rollcall_id, classroom=room, student=student, source="rollcall"
    )
