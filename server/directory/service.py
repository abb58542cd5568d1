"""The directory use cases: authorise the caller, validate with the pure domain, persist.

Who may do what (every method takes the verified claims of the caller):

- schools: an admin registers or renames the school they administer; every token reads schools;
- classrooms: an admin adds classrooms to their own (registered) school; admins and teachers list;
- students: an admin registers, lists and edits the students of their own school (a code is unique
  across all schools); a student reads their own record, an admin those of their school;
- courses: an admin adds courses taught by their school; every token reads courses;
- enrolments: an admin of the course's school, or an admin of the students' home school, enrols
  and unenrols; the course's school (admins, teachers) sees every enrolment, an admin of another
  school only their own students;
- roster: an admin imports their school's students from CSV (``classroom.roster``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from classroom import people
from classroom.access import ANY_LESSON, Claims, is_school_admin, is_student
from classroom.errors import Conflict, NotFound, PermissionDenied, ValidationError
from classroom.people import Classroom, Course, FieldError, School, Student
from classroom.roles import Role
from classroom.roster import RowError, parse_roster
from server.directory.store import DirectoryStore

__all__ = ["MAX_ENROL_CODES", "Directory", "Enrolled", "RosterReport"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ENROL_CODES = 1000
"""Codes in one enrolment request."""

_SCHOOL_FIELDS = frozenset({"name", "region"})
_CLASSROOM_FIELDS = frozenset({"id", "name"})
_STUDENT_FIELDS = frozenset({"code", "name", "classroom"})
_STUDENT_PATCH_FIELDS = frozenset({"name", "classroom"})
_COURSE_FIELDS = frozenset({"id", "title", "credits"})
_ENROL_FIELDS = frozenset({"students"})


@dataclass(frozen=True)
class Enrolled:
    """The outcome of an enrolment request: codes newly enrolled and codes already enrolled."""

    course: str
    enrolled: tuple[str, ...]
    already_enrolled: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"course": self.course, "enrolled": list(self.enrolled), "already_enrolled": list(self.already_enrolled)}


@dataclass(frozen=True)
class RosterReport:
    """The outcome of a roster import (or of its dry run)."""

    created: int
    updated: int
    enrolled: int
    errors: tuple[RowError, ...]
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "enrolled": self.enrolled,
            "errors": [error.to_json() for error in self.errors],
            "dry_run": self.dry_run,
        }


def _check_fields(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _require_admin(claims: Claims, action: str) -> None:
    """School administration needs an admin token that is not scoped to one lesson."""
    if claims.role is not Role.ADMIN or claims.lesson != ANY_LESSON:
        raise PermissionDenied(f"only admins with an all-lessons token {action}")


def _path_code(code: str) -> str:
    return code.strip().upper()


def _found(value: T | None, what: str) -> T:
    if value is None:
        raise NotFound(f"{what} not found")
    return value


class Directory:
    """Schools, classrooms, students, courses and enrolments on top of a DirectoryStore."""

    def __init__(self, store: DirectoryStore) -> None:
        self.store = store

    async def put_school(self, claims: Claims, school_id: str, body: Mapping[str, Any]) -> tuple[School, bool]:
        """Register or rename the caller's school; (school, True if newly registered)."""
        if not is_school_admin(claims, school_id):
            raise PermissionDenied(f"only an admin of {school_id} registers or renames it")
        _check_fields(body, _SCHOOL_FIELDS)
        school = people.new_school(school_id, body.get("name"), body.get("region"))
        created = await self.store.put_school(school)
        log.info("school %s school=%s by=%s", "registered" if created else "renamed", school.id, claims.principal)
        return school, created

    async def schools(self, claims: Claims) -> list[School]:
        return await self.store.schools()

    async def school(self, claims: Claims, school_id: str) -> School:
        return _found(await self.store.school(school_id), f"school {school_id}")

    async def add_classroom(self, claims: Claims, body: Mapping[str, Any]) -> Classroom:
        """A new classroom of the caller's school; Conflict if the id is taken or the school unregistered."""
        _require_admin(claims, "add classrooms")
        _check_fields(body, _CLASSROOM_FIELDS)
        classroom = people.new_classroom(body.get("id"), claims.school, body.get("name"))
        await self.store.add_classroom(classroom)
        log.info("classroom added classroom=%s school=%s by=%s", classroom.id, classroom.school, claims.principal)
        return classroom

    async def classrooms(self, claims: Claims, school: str | None = None) -> list[Classroom]:
        """Classrooms (of one school if given), for admins and teachers."""
        if claims.role not in (Role.ADMIN, Role.TEACHER) or claims.lesson != ANY_LESSON:
            raise PermissionDenied("only admins and teachers with an all-lessons token list classrooms")
        return await self.store.classrooms(school)

    async def add_student(self, claims: Claims, body: Mapping[str, Any]) -> Student:
        """A new student of the caller's school; Conflict if the code is used anywhere."""
        _require_admin(claims, "register students")
        _check_fields(body, _STUDENT_FIELDS)
        student = people.new_student(body.get("code"), body.get("name"), claims.school, body.get("classroom"))
        await self.store.add_student(student)
        log.info("student added code=%s school=%s by=%s", student.code, student.school, claims.principal)
        return student

    async def students(self, claims: Claims, school: str | None = None, classroom: str | None = None) -> list[Student]:
        """Students of the caller's school (of one classroom if given), for its admins."""
        school = claims.school if school is None else school
        if not is_school_admin(claims, school):
            raise PermissionDenied(f"only admins of {school} list its students")
        return await self.store.students(school, classroom)

    async def student(self, claims: Claims, code: str) -> Student:
        """A student's record, for the student themself or an admin of their home school."""
        code = _path_code(code)
        if claims.role not in (Role.STUDENT, Role.ADMIN):
            raise PermissionDenied("a student reads only their own record")
        student = await self.store.student(code)
        itself = is_student(claims, code, None if student is None else student.school)
        if claims.role is Role.STUDENT and not itself:
            raise PermissionDenied("a student reads only their own record")
        student = _found(student, f"student {code}")
        if not itself and not is_school_admin(claims, student.school):
            raise PermissionDenied(f"only admins of {student.school} read its students")
        return student

    async def update_student(self, claims: Claims, code: str, body: Mapping[str, Any]) -> Student:
        """Change a student's name and/or classroom (within the home school)."""
        _require_admin(claims, "edit students")
        _check_fields(body, _STUDENT_PATCH_FIELDS)
        if not body:
            raise ValidationError(f"give at least one of: {', '.join(sorted(_STUDENT_PATCH_FIELDS))}")
        known = _found(await self.store.student(_path_code(code)), f"student {_path_code(code)}")
        if not is_school_admin(claims, known.school):
            raise PermissionDenied(f"only admins of {known.school} edit its students")
        name, classroom = body.get("name", known.name), body.get("classroom", known.classroom)
        changed = people.new_student(known.code, name, known.school, classroom)
        await self.store.update_student(changed)
        log.info("student updated code=%s school=%s by=%s", changed.code, changed.school, claims.principal)
        return changed

    async def add_course(self, claims: Claims, body: Mapping[str, Any]) -> Course:
        """A new course taught by the caller's school."""
        _require_admin(claims, "add courses")
        _check_fields(body, _COURSE_FIELDS)
        course = people.new_course(body.get("id"), claims.school, body.get("title"), body.get("credits"))
        await self.store.add_course(course)
        log.info("course added course=%s school=%s by=%s", course.id, course.school, claims.principal)
        return course

    async def courses(self, claims: Claims, school: str | None = None) -> list[Course]:
        return await self.store.courses(school)

    async def course(self, claims: Claims, course_id: str) -> Course:
        return _found(await self.store.course(course_id), f"course {course_id}")

    async def enrol(self, claims: Claims, course_id: str, body: Mapping[str, Any]) -> Enrolled:
        """Enrol students, all or none; each must be of a school the caller administers (or the course's)."""
        _require_admin(claims, "enrol students")
        _check_fields(body, _ENROL_FIELDS)
        codes = _codes(body.get("students"))
        course = await self.course(claims, course_id)
        await self._check_may_enrol_all(claims, course, codes)
        enrolled = await self.store.enrol(course.id, codes)
        log.info("enrolled course=%s students=%d new=%d by=%s", course.id, len(codes), len(enrolled), claims.principal)
        new = set(enrolled)
        return Enrolled(course.id, tuple(enrolled), tuple(code for code in codes if code not in new))

    async def unenrol(self, claims: Claims, course_id: str, code: str) -> bool:
        """Remove an enrolment (same rule as enrol); True if there was one."""
        _require_admin(claims, "unenrol students")
        course = await self.course(claims, course_id)
        student = _found(await self.store.student(_path_code(code)), f"student {_path_code(code)}")
        _check_may_enrol(claims, course, student)
        code = student.code
        removed = await self.store.unenrol(course.id, code)
        log.info("unenrolled course=%s student=%s removed=%s by=%s", course.id, code, removed, claims.principal)
        return removed

    async def enrolments(self, claims: Claims, course_id: str) -> list[Student]:
        """Enrolled students: all for the course's school, only their own for another school's admin."""
        course = await self.course(claims, course_id)
        if claims.lesson != ANY_LESSON:
            raise PermissionDenied("enrolments are read with an all-lessons token")
        if claims.school == course.school and claims.role in (Role.ADMIN, Role.TEACHER):
            return await self.store.enrolled_students(course.id)
        if claims.role is Role.ADMIN:
            return [s for s in await self.store.enrolled_students(course.id) if s.school == claims.school]
        raise PermissionDenied(f"only admins, and teachers of {course.school}, read enrolments")

    async def import_roster(self, claims: Claims, data: bytes, *, dry_run: bool) -> RosterReport:
        """Import a CSV roster into the caller's school; valid rows applied in one transaction."""
        _require_admin(claims, "import rosters")
        if await self.store.school(claims.school) is None:
            raise Conflict(f"school {claims.school} is not registered")
        roster = await asyncio.to_thread(parse_roster, data)  # up to 1 MiB of CSV: not on the event loop
        plan = await self.store.import_roster(claims.school, roster, dry_run=dry_run)
        report = RosterReport(len(plan.created), len(plan.updated), len(plan.enrolments), plan.errors, dry_run)
        log.info(
            "roster imported school=%s created=%d updated=%d enrolled=%d errors=%d dry_run=%s by=%s",
            claims.school, report.created, report.updated, report.enrolled, len(report.errors), dry_run,
            claims.principal,
        )
        return report

    async def _check_may_enrol_all(self, claims: Claims, course: Course, codes: list[str]) -> None:
        found = await self.store.students_by_code(codes)
        for code in codes:
            student = found.get(code)
            if student is None:
                raise FieldError("students", f"contains {code}, which is not a registered student")
            _check_may_enrol(claims, course, student)


def _check_may_enrol(claims: Claims, course: Course, student: Student) -> None:
    if not (is_school_admin(claims, course.school) or is_school_admin(claims, student.school)):
        raise PermissionDenied(f"student {student.code} is of {student.school}, which the caller does not administer")


def _codes(value: object) -> list[str]:
    """The distinct normalised codes of an enrolment request, in the order given."""
    if not isinstance(value, list) or not value:
        raise FieldError("students", "must be a non-empty list of skill-worker codes")
    if len(value) > MAX_ENROL_CODES:
        raise FieldError("students", f"must have at most {MAX_ENROL_CODES} codes")
    codes = [people.normalise_code(code, f"students[{index}]") for index, code in enumerate(value)]
    return list(dict.fromkeys(codes))
