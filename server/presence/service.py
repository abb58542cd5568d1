"""Presence use cases: roster ticks, self check-in with the screen code, roll calls.

Every accepted request becomes presence events with idempotency keys; a retry of the same
request answers ``exists`` for each event and changes nothing. A refused request (wrong role,
a student not on the classroom's roster or not enrolled, a wrong or expired code, a closed roll
call) changes nothing either.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from classroom.access import Claims, covers_lesson, is_teacher_of
from classroom.attendance import PresenceEvent, PresenceKind
from classroom.checkin_codes import CheckinCodes
from classroom.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationError
from classroom.fields import idempotency_key, reject_unknown
from classroom.lessons import Lesson, LessonState
from classroom.people import Student
from classroom.roles import Role
from server.lessons.service import Lessons
from server.presence.log import PresenceLog

__all__ = ["MAX_STUDENTS_PER_REQUEST", "Presence", "Roster", "RosterStudent"]

MAX_STUDENTS_PER_REQUEST = 200
ROLLCALL_ANSWER_S = 120.0
SELF_CHECKIN_ATTEMPTS = 10
"""Wrong codes a student may enter per minute before being refused (six digits are guessable)."""


RosterStudent = Student
"""A student as presence, attendance and the bank see them (from the directory)."""


class Roster(Protocol):
    """What presence needs of the directory."""

    async def student(self, code: str) -> RosterStudent | None: ...

    async def is_enrolled(self, course: str, code: str) -> bool: ...

    async def classroom_school(self, classroom: str) -> str | None: ...


class Broadcast(Protocol):
    def __call__(self, lesson_id: str, message: dict[str, Any], role: Role | None = None) -> int: ...


class _Attempts:
    """Failed self check-ins per student in a sliding minute."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def check(self, student: str) -> None:
        now = self._clock()
        recent = [t for t in self._failures.get(student, []) if now - t < 60.0]
        self._failures[student] = recent
        if len(recent) >= self._limit:
            raise RateLimited("too many wrong check-in codes: wait a minute and try again")

    def failed(self, student: str) -> None:
        self._failures.setdefault(student, []).append(self._clock())


def _codes(body: Mapping[str, Any], field: str) -> list[str]:
    value = body.get(field, [])
    if not isinstance(value, list) or not all(isinstance(code, str) and code.strip() for code in value):
        raise ValidationError(f"{field} must be a list of skill-worker codes")
    codes = [code.strip().upper() for code in value]
    if len(codes) > MAX_STUDENTS_PER_REQUEST:
        raise ValidationError(f"{field} holds at most {MAX_STUDENTS_PER_REQUEST} students")
    if len(set(codes)) != len(codes):
        raise ValidationError(f"{field} names a student twice")
    return codes


class Presence:
    """Check-ins, check-outs and roll calls of the students in remote classrooms."""

    def __init__(self, log: PresenceLog, lessons: Lessons, roster: Roster, codes: CheckinCodes,
                 broadcast: Broadcast, *, rollcall_answer_s: float = ROLLCALL_ANSWER_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._log = log
        self._lessons = lessons
        self._roster = roster
        self._codes = codes
        self._broadcast = broadcast
        self._rollcall_answer_s = rollcall_answer_s
        self._clock = clock
        self._attempts = _Attempts(SELF_CHECKIN_ATTEMPTS, clock)

    # --- the classroom screen ---------------------------------------------------------------

    async def checkin_code(self, claims: Claims, lesson_id: str) -> dict[str, Any]:
        """The code to show on the caller's (a classroom's) screen now."""
        lesson = await self._live_lesson_for(claims, lesson_id, Role.CLASSROOM)
        code = self._codes.current(lesson.id, claims.subject, self._clock())
        return {"lesson": lesson.id, "classroom": claims.subject, "code": code.code,
                "valid_until": code.valid_until, "refresh_at": code.issued_at + self._codes.step_s}

    # --- roster ticks by the classroom ------------------------------------------------------

    async def roster(self, claims: Claims, lesson_id: str, body: Mapping[str, Any], key: str | None) -> dict[str, Any]:
        """The classroom ticks (``checked_in``) or unticks (``checked_out``) students."""
        request_key = idempotency_key(key, required=True)
        reject_unknown(body, {"checked_in", "checked_out"})
        checked_in, checked_out = _codes(body, "checked_in"), _codes(body, "checked_out")
        if set(checked_in) & set(checked_out):
            raise ValidationError("a student cannot be checked in and out at once")
        if not checked_in and not checked_out:
            raise ValidationError("name at least one student in checked_in or checked_out")
        lesson = await self._live_lesson_for(claims, lesson_id, Role.CLASSROOM)
        for code in checked_in + checked_out:
            await self._check_on_roster(lesson, claims.subject, code)
        now = self._clock()
        base = f"{lesson.id}:roster:{claims.subject}:{request_key}"
        events = [self._student_event(lesson, claims.subject, code, PresenceKind.STUDENT_CHECKIN, "roster", now,
                                      f"{base}:in:{code}") for code in checked_in]
        events += [self._student_event(lesson, claims.subject, code, PresenceKind.STUDENT_CHECKOUT, "roster", now,
                                       f"{base}:out:{code}") for code in checked_out]
        digest = _digest({"checked_in": sorted(checked_in), "checked_out": sorted(checked_out)})
        results = await self._log.append(events, str(claims.principal), (base, digest))
        return _summary(events, results)

    # --- self check-in by the student -------------------------------------------------------

    async def self_checkin(self, claims: Claims, lesson_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A student enters the code shown on their classroom's screen."""
        reject_unknown(body, {"classroom", "code"})
        classroom, code = body.get("classroom"), body.get("code")
        if not isinstance(classroom, str) or not classroom.strip():
            raise ValidationError("classroom must be the id of the classroom you are in")
        if not isinstance(code, str):
            raise ValidationError("code must be the digits shown on the classroom screen")
        lesson = await self._live_lesson_for(claims, lesson_id, Role.STUDENT)
        student = claims.subject.upper()
        await self._check_on_roster(lesson, classroom, student, school=claims.school)
        self._attempts.check(student)
        now = self._clock()
        try:
            step = self._codes.check(lesson.id, classroom, code.strip(), now)
        except ValidationError:
            self._attempts.failed(student)
            raise
        count, last = await self._log.last_presence(lesson.id, student)
        if last is not None and last.kind is PresenceKind.STUDENT_CHECKIN and last.classroom == classroom:
            return {"lesson": lesson.id, "classroom": classroom, "student": student, "result": "exists", "at": last.at}
        event = self._student_event(lesson, classroom, student, PresenceKind.STUDENT_CHECKIN, "self", now,
                                    f"{lesson.id}:self:{classroom}:{student}:{step}:{count}")
        results = await self._log.append([event], str(claims.principal))
        return {"lesson": lesson.id, "classroom": classroom, "student": student, "result": results[0], "at": now}

    # --- roll calls ---------------------------------------------------------------------------

    async def open_rollcall(self, claims: Claims, lesson_id: str) -> dict[str, Any]:
        """The lesson's teacher calls the roll; connected classrooms are told at once."""
        lesson = await self._live_lesson_for(claims, lesson_id, Role.TEACHER)
        if not is_teacher_of(claims, lesson):
            raise PermissionDenied("only the lesson's teacher calls the roll")
        rollcall, now = secrets.token_hex(4), self._clock()
        event = PresenceEvent(lesson=lesson.id, kind=PresenceKind.ROLLCALL_OPEN, at=now, rollcall=rollcall,
                              source="teacher", key=_rollcall_key(lesson.id, rollcall))
        await self._log.append([event], str(claims.principal))
        answer_by = now + self._rollcall_answer_s
        told = self._broadcast(lesson.id, {"type": "rollcall.started", "rollcall": rollcall, "answer_by": answer_by},
                               Role.CLASSROOM)
        return {"lesson": lesson.id, "rollcall": rollcall, "opened_at": now, "answer_by": answer_by,
                "classrooms_told": told}

    async def answer_rollcall(self, claims: Claims, lesson_id: str, rollcall: str,
                              body: Mapping[str, Any]) -> dict[str, Any]:
        """A classroom answers a roll call with the students in the room."""
        reject_unknown(body, {"present"})
        present = _codes(body, "present")
        lesson = await self._live_lesson_for(claims, lesson_id, Role.CLASSROOM)
        opened = await self._log.event(_rollcall_key(lesson.id, rollcall))
        if opened is None or opened.lesson != lesson.id or opened.kind is not PresenceKind.ROLLCALL_OPEN:
            raise NotFound(f"no roll call {rollcall!r} in lesson {lesson.id}")
        now = self._clock()
        if now > opened.at + self._rollcall_answer_s:
            raise Conflict(f"roll call {rollcall} closed {now - opened.at - self._rollcall_answer_s:.0f} s ago")
        for code in present:
            await self._check_on_roster(lesson, claims.subject, code)
        events = [PresenceEvent(lesson=lesson.id, kind=PresenceKind.ROLLCALL_ANSWER, at=now, classroom=claims.subject,
                                student=code, source="rollcall", rollcall=rollcall,
                                key=f"{_rollcall_key(lesson.id, rollcall)}:{claims.subject}:{code}")
                  for code in present]
        results = await self._log.append(events, str(claims.principal))
        return {"rollcall": rollcall, **_summary(events, results)}

    # --- reading the raw events ---------------------------------------------------------------

    async def events(self, claims: Claims, lesson_id: str) -> list[dict[str, Any]]:
        """The lesson's raw presence events, for its teacher and its school's admins."""
        lesson = await self._lessons.get(lesson_id)
        allowed = (claims.role is Role.ADMIN and claims.school == lesson.school) or is_teacher_of(claims, lesson)
        if not allowed or not covers_lesson(claims, lesson.id):
            raise PermissionDenied("only the lesson's teacher and its school's admins read its presence events")
        return [event.to_json() for event in await self._log.events(lesson.id)]

    # --- checks ---------------------------------------------------------------------------------

    async def _live_lesson_for(self, claims: Claims, lesson_id: str, role: Role) -> Lesson:
        if claims.role is not role:
            raise PermissionDenied(f"only a {role.value} token may do this")
        if not covers_lesson(claims, lesson_id):
            raise PermissionDenied(f"token does not cover lesson {lesson_id}")
        if role is Role.CLASSROOM and await self._roster.classroom_school(claims.subject) != claims.school:
            raise PermissionDenied(f"{claims.principal} is not a classroom of the directory")
        lesson = await self._lessons.get(lesson_id)
        if lesson.state is not LessonState.LIVE:
            raise Conflict(f"lesson {lesson.id} is {lesson.state.value}, not live")
        return lesson

    async def _check_on_roster(self, lesson: Lesson, classroom: str, code: str, *, school: str | None = None) -> None:
        """The student is on the classroom's roster (and, with ``school``, of that home school)."""
        student = await self._roster.student(code)
        if student is None:
            raise ValidationError(f"no student with skill-worker code {code}")
        if school is not None and student.school != school:
            raise PermissionDenied(f"student {code} is not a student of {school}")
        if student.classroom != classroom:
            raise PermissionDenied(f"student {code} is not on classroom {classroom}'s roster")
        if lesson.course is not None and not await self._roster.is_enrolled(lesson.course, code):
            raise ValidationError(f"student {code} is not enrolled in course {lesson.course}")

    def _student_event(self, lesson: Lesson, classroom: str, code: str, kind: PresenceKind, source: str,
                       at: float, key: str) -> PresenceEvent:
        return PresenceEvent(lesson=lesson.id, kind=kind, at=at, classroom=classroom, student=code, source=source,
                             key=key)


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _rollcall_key(lesson: str, rollcall: str) -> str:
    return f"{lesson}:rollcall:{rollcall}"


def _summary(events: Sequence[PresenceEvent], results: Sequence[str]) -> dict[str, Any]:
    return {
        "created": sum(1 for result in results if result == "created"),
        "exists": sum(1 for result in results if result == "exists"),
        "events": [{"kind": e.kind.value, "student": e.student, "result": r} for e, r in zip(events, results,
                                                                                                strict=True)],
    }
