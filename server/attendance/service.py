"""Attendance use cases: compute a lesson's attendance, review it, correct it, export it.

Attendance is never stored as a result: it is computed from the lesson's presence events, its
excuses and its overrides by the policy version in force, so the same inputs always give the same
answer and a correction is a new override or excuse row (audited), never an edit.

Who sees what: the lesson's teacher and its school's admins see every row; an admin of another
school sees the rows of their own students; a student sees their own rows only (403 otherwise).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from classroom import fields
from classroom.access import Claims, covers_lesson, is_school_admin, is_student, is_teacher_of
from classroom.attendance import (
    Excuse,
    ExpectedStudent,
    Interval,
    LessonAttendance,
    Override,
    Policy,
    Status,
    StudentAttendance,
    apply_overrides,
    compute_attendance,
    policy,
)
from classroom.errors import Conflict, PermissionDenied, ValidationError
from classroom.fields import idempotency_key, reject_unknown
from classroom.lessons import Lesson, LessonState
from classroom.people import normalise_code, validate_id
from classroom.roles import Role
from server.attendance.store import (
    ExcuseRecord,
    OverrideRecord,
    add_excuse_in,
    add_override_in,
    excuses_in,
    overrides_in,
)
from server.directory.store import courses_of_in, enrolled_students_in, students_by_code_in
from server.edge.database import Database, Tx
from server.lessons.service import Lessons
from server.presence.log import PresenceLog, events_in, lessons_of_student_in
from server.presence.service import RosterStudent

__all__ = ["Attendance", "AttendanceDirectory", "Corrected", "LessonView"]


Corrected = Callable[[str], Awaitable[None]]
"""Called with a lesson id after an override or excuse changed an ended lesson's attendance."""


class AttendanceDirectory(Protocol):
    async def student(self, code: str) -> RosterStudent | None: ...

    async def enrolled(self, course: str) -> Sequence[RosterStudent]: ...

    async def schools_of(self, codes: Sequence[str]) -> Mapping[str, str]: ...

    async def classroom_school(self, classroom: str) -> str | None: ...


@dataclass(frozen=True)
class LessonView:
    """A lesson's attendance as one caller may see it."""

    lesson: Lesson
    attendance: LessonAttendance
    schools: Mapping[str, str]
    """skill-worker code -> home school of every student in ``attendance``"""
    corrections: int = 0
    """how many overrides and excuses were applied (they only ever grow)"""

    def to_json(self) -> dict[str, Any]:
        data = self.attendance.to_json()
        data["title"] = self.lesson.title
        data["course"] = self.lesson.course
        data["school"] = self.lesson.school
        for row in data["students"]:
            row["school"] = self.schools.get(row["student"], "")
        return data


def _corrections_in(tx: Tx, lesson: str) -> tuple[list[OverrideRecord], list[ExcuseRecord]]:
    return overrides_in(tx, lesson), excuses_in(tx, lesson)


def _compute_in(tx: Tx, lesson: Lesson, window: Interval,
                rules: Policy) -> tuple[LessonAttendance, dict[str, str], int]:
    """The lesson's attendance with its corrections, the home school of every student in it, and
    the number of corrections applied."""
    overrides, excuses = _corrections_in(tx, lesson.id)
    enrolled = enrolled_students_in(tx, lesson.course) if lesson.course else []
    expected = [ExpectedStudent(code=s.code, classroom=s.classroom) for s in enrolled]
    computed = compute_attendance(lesson.id, window, events_in(tx, lesson.id), expected,
                                  [r.excuse for r in excuses], rules)
    attendance = apply_overrides(computed, [r.override for r in overrides])
    schools = {s.code: s.school for s in enrolled}
    missing = [row.student for row in attendance.students if row.student not in schools]
    schools.update({code: s.school for code, s in students_by_code_in(tx, missing).items()})
    return attendance, schools, len(overrides) + len(excuses)


def _lessons_of_student_in(tx: Tx, code: str) -> tuple[set[str], set[str]]:
    """(courses the student is enrolled in, lessons with events naming them)."""
    return set(courses_of_in(tx, code)), set(lessons_of_student_in(tx, code))


def _window(lesson: Lesson, now: float) -> Interval:
    if lesson.started_at is None:
        raise Conflict(f"lesson {lesson.id} has not started: it has no attendance yet")
    end = lesson.ended_at if lesson.ended_at is not None else max(now, lesson.started_at)
    return Interval(lesson.started_at, end)


def _optional_time(body: Mapping[str, Any], field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e11:
        raise ValidationError(f"{field} must be a time in seconds since the epoch")
    return float(value)


class Attendance:
    """Computes, filters, corrects and exports attendance."""

    def __init__(self, db: Database, presence: PresenceLog, lessons: Lessons, directory: AttendanceDirectory,
                 policy_version: str, *, clock: Callable[[], float] = time.time) -> None:
        policy(policy_version)  # an unknown version fails at start-up, not at the first request
        self._db = db
        self._presence = presence
        self._lessons = lessons
        self._directory = directory
        self.policy_version = policy_version
        self._clock = clock
        self.on_corrected: list[Corrected] = []

    # --- computing ----------------------------------------------------------------------------

    async def compute(self, lesson: Lesson) -> LessonView:
        """The lesson's attendance with every correction applied (no access check)."""
        window = _window(lesson, self._clock())
        await self._presence.flush()
        # Loading and computing run on the database's reader thread: the event loop (which also
        # forwards media) stays free, and presence writes go on meanwhile.
        attendance, schools, corrections = await self._db.read(_compute_in, lesson, window,
                                                               policy(self.policy_version))
        return LessonView(lesson, attendance, schools, corrections)

    # --- reading --------------------------------------------------------------------------------

    async def for_lesson(self, claims: Claims, lesson_id: str) -> LessonView:
        """What the caller may see of the lesson's attendance."""
        lesson = await self._lessons.get(lesson_id)
        _check_reader(claims, lesson)
        view = await self.compute(lesson)
        if _sees_everything(claims, lesson):
            return view
        visible = tuple(row for row in view.attendance.students if view.schools.get(row.student) == claims.school)
        classrooms = {c for row in visible for c in row.classrooms}
        attendance = _narrowed(view.attendance, visible, classrooms)
        return LessonView(lesson, attendance, view.schools, view.corrections)

    async def for_student(self, claims: Claims, code: str, lessons: Sequence[Lesson]) -> list[dict[str, Any]]:
        """The student's row in each of ``lessons`` (the ones that started), for them or their admins."""
        code = normalise_code(code)
        student = await self._directory.student(code)
        if not _may_read_student(claims, code, student):
            raise PermissionDenied("a student's attendance is readable by the student and their school's admins")
        courses, attended = await self._db.read(_lessons_of_student_in, code)
        rows = []
        for lesson in lessons:
            if lesson.started_at is None or not (lesson.course in courses or lesson.id in attended):
                continue
            row = (await self.compute(lesson)).attendance.student(code)
            if row is not None:
                rows.append({"lesson": lesson.id, "title": lesson.title, "course": lesson.course,
                             "school": lesson.school, **_row_json(row)})
        return rows

    # --- correcting -----------------------------------------------------------------------------

    async def override(self, claims: Claims, lesson_id: str, body: Mapping[str, Any],
                       key: str | None) -> tuple[OverrideRecord, bool]:
        """An admin of the lesson's school sets a student's status, with a reason."""
        reject_unknown(body, {"student", "status", "reason"})
        lesson = await self._lessons.get(lesson_id)
        if claims.role is not Role.ADMIN or claims.school != lesson.school or not covers_lesson(claims, lesson.id):
            raise PermissionDenied("only an admin of the lesson's school overrides its attendance")
        student = normalise_code(body.get("student"), "student")
        try:
            status = Status(body.get("status"))
        except ValueError:
            raise ValidationError(f"status must be one of {', '.join(s.value for s in Status)}") from None
        override = Override(student=student, status=status, reason=fields.reason(body),
                            author=str(claims.principal), at=self._clock())
        view = await self.compute(lesson)
        apply_overrides(view.attendance, [override])  # refuses a student who is not in the lesson
        record, created = await self._db.transact(add_override_in, idempotency_key(key, required=False), lesson.id,
                                                  override, claims.school)
        if created:
            await self._corrected(lesson)
        return record, created

    async def excuse(self, claims: Claims, lesson_id: str, body: Mapping[str, Any],
                     key: str | None) -> tuple[ExcuseRecord, bool]:
        """Excuse a student for the lesson, or a classroom's outage between two times."""
        reject_unknown(body, {"student", "classroom", "start", "end", "reason"})
        lesson = await self._lessons.get(lesson_id)
        excuse = _excuse_of(body)
        await self._check_excuser(claims, lesson, excuse)
        record, created = await self._db.transact(add_excuse_in, idempotency_key(key, required=False), lesson.id,
                                                  excuse, str(claims.principal),
                                                  claims.school, self._clock())
        if created:
            await self._corrected(lesson)
        return record, created

    async def corrections(self, claims: Claims, lesson_id: str) -> dict[str, Any]:
        """The audit trail of a lesson's overrides and excuses."""
        lesson = await self._lessons.get(lesson_id)
        _check_reader(claims, lesson)
        if not _sees_everything(claims, lesson):
            raise PermissionDenied("the corrections of a lesson are read by its teacher and its school's admins")
        overrides, excuses = await self._db.read(_corrections_in, lesson.id)
        return {"overrides": [r.to_json() for r in overrides], "excuses": [r.to_json() for r in excuses]}

    async def _corrected(self, lesson: Lesson) -> None:
        if lesson.state is LessonState.ENDED:
            for listener in self.on_corrected:
                await listener(lesson.id)

    async def _check_excuser(self, claims: Claims, lesson: Lesson, excuse: Excuse) -> None:
        if claims.role is not Role.ADMIN or not covers_lesson(claims, lesson.id):
            raise PermissionDenied("only admins excuse attendance")
        if claims.school == lesson.school:
            return
        if excuse.student:
            student = await self._directory.student(excuse.student)
            if student is not None and student.school == claims.school:
                return
        elif await self._directory.classroom_school(excuse.classroom) == claims.school:
            return
        raise PermissionDenied("admins excuse their own school's students and classrooms, or anyone in their "
                               "school's lessons")


def _excuse_of(body: Mapping[str, Any]) -> Excuse:
    reason = fields.reason(body)
    student, classroom = body.get("student"), body.get("classroom")
    start, end = _optional_time(body, "start"), _optional_time(body, "end")
    if student is not None and classroom is None and start is None and end is None:
        return Excuse(reason=reason, student=normalise_code(student, "student"))
    if classroom is not None and student is None:
        if start is None or end is None or end <= start:
            raise ValidationError("a classroom's outage is excused between a start and a later end")
        return Excuse(reason=reason, classroom=validate_id("classroom", classroom), start=start, end=end)
    raise ValidationError("excuse either a student (for the whole lesson) or a classroom's outage (start, end)")


def _sees_everything(claims: Claims, lesson: Lesson) -> bool:
    return (claims.role is Role.ADMIN and claims.school == lesson.school) or is_teacher_of(claims, lesson)


def _check_reader(claims: Claims, lesson: Lesson) -> None:
    if claims.role not in (Role.ADMIN, Role.TEACHER) or not covers_lesson(claims, lesson.id):
        raise PermissionDenied("a lesson's attendance is read by its teacher and by admins")
    if claims.role is Role.TEACHER and not is_teacher_of(claims, lesson):
        raise PermissionDenied("only the lesson's own teacher reads its attendance")


def _may_read_student(claims: Claims, code: str, student: RosterStudent | None) -> bool:
    if claims.role is Role.STUDENT:
        return is_student(claims, code, None if student is None else student.school)
    return student is not None and is_school_admin(claims, student.school)


def _narrowed(attendance: LessonAttendance, students: tuple[StudentAttendance, ...],
              classrooms: set[str]) -> LessonAttendance:
    kept = tuple(c for c in attendance.classrooms if c.classroom in classrooms)
    return dataclasses.replace(attendance, students=students, classrooms=kept)


def _row_json(row: StudentAttendance) -> dict[str, Any]:
    return {
        "status": row.status.value,
        "computed_status": row.computed_status.value,
        "minutes": round(row.seconds / 60.0, 2),
        "share": round(row.share, 4),
        "late": row.late,
        "left_early": row.left_early,
        "credit": row.credit,
        "classrooms": list(row.classrooms),
        "intervals": [{"start": i.start, "end": i.end} for i in row.intervals],
    }
