"""The directory's tables on the shared Database port, as transaction-level functions and a store.

Other credit-bank stores read people inside their own transactions with the ``*_in(tx, ...)``
functions (e.g. ``enrolled_students_in(tx, course)`` while crediting a lesson);
:class:`DirectoryStore` runs the same queries and the writes each in a transaction of its own.

Reads return ``None`` or an empty list for what does not exist; writes raise
:class:`~classroom.errors.Conflict` for a duplicate key or a missing referenced row (a constraint
that refuses a write inside a transaction surfaces as ``IntegrityError`` and becomes Conflict too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from classroom.errors import Conflict
from classroom.people import Classroom, Course, School, Student
from classroom.roster import Roster, RosterContext, RosterPlan, plan_roster
from server.edge.database import Database, IntegrityError, Tx
from server.edge.migrations import Migrations

__all__ = [
    "DIRECTORY_SCHEMA",
    "DirectoryStore",
    "classroom_in",
    "classrooms_in",
    "course_in",
    "courses_of_in",
    "courses_in",
    "enrol_in",
    "enrolled_students_in",
    "import_roster_in",
    "insert_classroom_in",
    "insert_course_in",
    "insert_student_in",
    "is_enrolled_in",
    "put_school_in",
    "school_in",
    "schools_in",
    "student_in",
    "students_by_code_in",
    "students_in",
    "unenrol_in",
    "update_student_in",
]

T = TypeVar("T")

_DIRECTORY_V1 = """
CREATE TABLE IF NOT EXISTS schools (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT
);
CREATE TABLE IF NOT EXISTS classrooms (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL REFERENCES schools (id),
    name TEXT NOT NULL,
    UNIQUE (id, school)
);
CREATE TABLE IF NOT EXISTS students (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    school TEXT NOT NULL REFERENCES schools (id),
    classroom TEXT NOT NULL,
    FOREIGN KEY (classroom, school) REFERENCES classrooms (id, school)
);
CREATE INDEX IF NOT EXISTS students_by_school ON students (school, classroom);
CREATE TABLE IF NOT EXISTS courses (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL REFERENCES schools (id),
    title TEXT NOT NULL,
    credits_centi INTEGER NOT NULL CHECK (credits_centi > 0 AND credits_centi <= 2000)
);
CREATE TABLE IF NOT EXISTS enrolments (
    course TEXT NOT NULL REFERENCES courses (id),
    student TEXT NOT NULL REFERENCES students (code),
    PRIMARY KEY (course, student)
);
CREATE INDEX IF NOT EXISTS enrolments_by_student ON enrolments (student);
"""
DIRECTORY_SCHEMA = Migrations("directory", (_DIRECTORY_V1,))
"""The directory tables, as versioned migrations (version 1: the tables as they were before migrations)."""
"""A student's classroom belongs to the student's school: (classroom, school) references classrooms."""

_CHUNK = 500
_SCHOOL = "SELECT id, name, region FROM schools"
_CLASSROOM = "SELECT id, school, name FROM classrooms"
_STUDENT = "SELECT code, name, school, classroom FROM students"
_COURSE = "SELECT id, school, title, credits_centi FROM courses"


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    unique = sorted(set(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def school_in(tx: Tx, id: str) -> School | None:
    row = tx.one(f"{_SCHOOL} WHERE id = ?", (id,))
    return None if row is None else School(*row)


def schools_in(tx: Tx) -> list[School]:
    return [School(*row) for row in tx.all(f"{_SCHOOL} ORDER BY id")]


def classroom_in(tx: Tx, id: str) -> Classroom | None:
    row = tx.one(f"{_CLASSROOM} WHERE id = ?", (id,))
    return None if row is None else Classroom(*row)


def classrooms_in(tx: Tx, school: str | None = None) -> list[Classroom]:
    """Classrooms of one school, or of all schools, by id."""
    if school is None:
        return [Classroom(*row) for row in tx.all(f"{_CLASSROOM} ORDER BY id")]
    return [Classroom(*row) for row in tx.all(f"{_CLASSROOM} WHERE school = ? ORDER BY id", (school,))]


def student_in(tx: Tx, code: str) -> Student | None:
    row = tx.one(f"{_STUDENT} WHERE code = ?", (code,))
    return None if row is None else Student(*row)


def students_by_code_in(tx: Tx, codes: Iterable[str]) -> dict[str, Student]:
    """The students among ``codes`` that exist, by code."""
    found: dict[str, Student] = {}
    for chunk in _chunks(codes):
        for row in tx.all(f"{_STUDENT} WHERE code IN ({_marks(chunk)})", chunk):
            found[row[0]] = Student(*row)
    return found


def students_in(tx: Tx, school: str, classroom: str | None = None) -> list[Student]:
    """Students of a school (of one of its classrooms if given), by code."""
    if classroom is None:
        rows = tx.all(f"{_STUDENT} WHERE school = ? ORDER BY code", (school,))
    else:
        rows = tx.all(f"{_STUDENT} WHERE school = ? AND classroom = ? ORDER BY code", (school, classroom))
    return [Student(*row) for row in rows]


def course_in(tx: Tx, id: str) -> Course | None:
    row = tx.one(f"{_COURSE} WHERE id = ?", (id,))
    return None if row is None else Course(*row)


def courses_in(tx: Tx, school: str | None = None) -> list[Course]:
    """Courses taught by one school, or by all schools, by id."""
    if school is None:
        return [Course(*row) for row in tx.all(f"{_COURSE} ORDER BY id")]
    return [Course(*row) for row in tx.all(f"{_COURSE} WHERE school = ? ORDER BY id", (school,))]


def enrolled_students_in(tx: Tx, course: str) -> list[Student]:
    """The students enrolled in ``course``, by code (empty for an unknown course)."""
    rows = tx.all(
        "SELECT s.code, s.name, s.school, s.classroom FROM enrolments e JOIN students s ON s.code = e.student"
        " WHERE e.course = ? ORDER BY s.code",
        (course,),
    )
    return [Student(*row) for row in rows]


def courses_of_in(tx: Tx, code: str) -> list[str]:
    """Ids of the courses ``code`` is enrolled in."""
    return [row[0] for row in tx.all("SELECT course FROM enrolments WHERE student = ? ORDER BY course", (code,))]


def is_enrolled_in(tx: Tx, course: str, code: str) -> bool:
    return tx.one("SELECT 1 FROM enrolments WHERE course = ? AND student = ?", (course, code)) is not None


def _enrolments_of_in(tx: Tx, codes: Iterable[str]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for chunk in _chunks(codes):
        rows = tx.all(f"SELECT course, student FROM enrolments WHERE student IN ({_marks(chunk)})", chunk)
        pairs.update((row[0], row[1]) for row in rows)
    return pairs


def put_school_in(tx: Tx, school: School) -> bool:
    """Register or rename a school; True if it was new."""
    if school_in(tx, school.id) is None:
        tx.execute("INSERT INTO schools (id, name, region) VALUES (?, ?, ?)", (school.id, school.name, school.region))
        return True
    tx.execute("UPDATE schools SET name = ?, region = ? WHERE id = ?", (school.name, school.region, school.id))
    return False


def insert_classroom_in(tx: Tx, classroom: Classroom) -> None:
    """Add a classroom; Conflict if the id is taken or its school is not registered."""
    if school_in(tx, classroom.school) is None:
        raise Conflict(f"school {classroom.school} is not registered")
    if classroom_in(tx, classroom.id) is not None:
        raise Conflict(f"classroom {classroom.id} already exists")
    tx.execute("INSERT INTO classrooms (id, school, name) VALUES (?, ?, ?)", (classroom.id, classroom.school,
                                                                               classroom.name))


def _check_classroom_in(tx: Tx, student: Student) -> None:
    classroom = classroom_in(tx, student.classroom)
    if classroom is None:
        raise Conflict(f"classroom {student.classroom} does not exist")
    if classroom.school != student.school:
        raise Conflict(f"classroom {student.classroom} is not a classroom of {student.school}")


def insert_student_in(tx: Tx, student: Student) -> None:
    """Add a student; Conflict if the code is used at any school or the classroom is not the school's."""
    if student_in(tx, student.code) is not None:
        raise Conflict(f"skill-worker code {student.code} is already registered")
    _check_classroom_in(tx, student)
    tx.execute(
        "INSERT INTO students (code, name, school, classroom) VALUES (?, ?, ?, ?)",
        (student.code, student.name, student.school, student.classroom),
    )


def update_student_in(tx: Tx, student: Student) -> None:
    """Change a student's name and classroom (the code and the school never change)."""
    known = student_in(tx, student.code)
    if known is None or known.school != student.school:
        raise Conflict(f"no student {student.code} at {student.school}")
    _check_classroom_in(tx, student)
    tx.execute("UPDATE students SET name = ?, classroom = ? WHERE code = ?", (student.name, student.classroom,
                                                                               student.code))


def insert_course_in(tx: Tx, course: Course) -> None:
    """Add a course; Conflict if the id is taken or its school is not registered."""
    if school_in(tx, course.school) is None:
        raise Conflict(f"school {course.school} is not registered")
    if course_in(tx, course.id) is not None:
        raise Conflict(f"course {course.id} already exists")
    tx.execute(
        "INSERT INTO courses (id, school, title, credits_centi) VALUES (?, ?, ?, ?)",
        (course.id, course.school, course.title, course.credits_centi),
    )


def enrol_in(tx: Tx, course: str, code: str) -> bool:
    """Enrol a student; True if newly enrolled, False if already (idempotent)."""
    if is_enrolled_in(tx, course, code):
        return False
    tx.execute("INSERT INTO enrolments (course, student) VALUES (?, ?) ON CONFLICT DO NOTHING", (course, code))
    return True


def unenrol_in(tx: Tx, course: str, code: str) -> bool:
    """Remove an enrolment; True if there was one (idempotent)."""
    if not is_enrolled_in(tx, course, code):
        return False
    tx.execute("DELETE FROM enrolments WHERE course = ? AND student = ?", (course, code))
    return True


def _roster_context_in(tx: Tx, roster: Roster) -> RosterContext:
    codes = [row.code for row in roster.rows]
    classrooms = {row.classroom for row in roster.rows}
    courses = {row.course for row in roster.rows if row.course is not None}
    return RosterContext(
        students=students_by_code_in(tx, codes),
        classrooms={id: room for id in classrooms if (room := classroom_in(tx, id)) is not None},
        courses={id: course for id in courses if (course := course_in(tx, id)) is not None},
        enrolments=_enrolments_of_in(tx, codes),
    )


def _apply_in(tx: Tx, plan: RosterPlan) -> None:
    """Write a plan checked in this same transaction, in bulk (constraints still guard every row)."""
    tx.executemany(
        "INSERT INTO students (code, name, school, classroom) VALUES (?, ?, ?, ?)",
        [(s.code, s.name, s.school, s.classroom) for s in plan.created],
    )
    tx.executemany(
        "UPDATE students SET name = ?, classroom = ? WHERE code = ? AND school = ?",
        [(s.name, s.classroom, s.code, s.school) for s in plan.updated],
    )
    tx.executemany(
        "INSERT INTO enrolments (course, student) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(e.course, e.student) for e in plan.enrolments],
    )


def import_roster_in(tx: Tx, school: str, roster: Roster, dry_run: bool) -> RosterPlan:
    """Plan ``roster`` for ``school`` against the directory and, unless ``dry_run``, apply it."""
    plan = plan_roster(school, roster, _roster_context_in(tx, roster))
    if not dry_run:
        _apply_in(tx, plan)
    return plan


class DirectoryStore:
    """The directory on a Database: each method is one transaction.

    It is also what presence (its Roster), attendance (AttendanceDirectory) and the bank
    (BankDirectory) need of the directory: the lookups below run on the database's reader
    connection, so roster checks never queue behind presence writes.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self.db.transact(fn, *args)
        except IntegrityError as exc:
            raise Conflict(f"the directory refused the change: {exc}") from None

    async def school(self, id: str) -> School | None:
        return await self._run(school_in, id)

    async def schools(self) -> list[School]:
        return await self._run(schools_in)

    async def classroom(self, id: str) -> Classroom | None:
        return await self._run(classroom_in, id)

    async def classrooms(self, school: str | None = None) -> list[Classroom]:
        return await self._run(classrooms_in, school)

    async def student(self, code: str) -> Student | None:
        return await self.db.read(student_in, code.upper())

    async def is_enrolled(self, course: str, code: str) -> bool:
        return await self.db.read(is_enrolled_in, course, code.upper())

    async def enrolled(self, course: str) -> Sequence[Student]:
        return await self.db.read(enrolled_students_in, course)

    async def schools_of(self, codes: Sequence[str]) -> Mapping[str, str]:
        found = await self.db.read(students_by_code_in, [code.upper() for code in codes])
        return {code: student.school for code, student in found.items()}

    async def classroom_school(self, classroom: str) -> str | None:
        found = await self.db.read(classroom_in, classroom)
        return None if found is None else found.school

    async def course_school(self, course: str) -> str | None:
        found = await self.db.read(course_in, course)
        return None if found is None else found.school

    async def course_credits(self, course: str) -> int | None:
        found = await self.db.read(course_in, course)
        return None if found is None else found.credits_centi

    async def students_by_code(self, codes: Iterable[str]) -> dict[str, Student]:
        return await self._run(students_by_code_in, list(codes))

    async def students(self, school: str, classroom: str | None = None) -> list[Student]:
        return await self._run(students_in, school, classroom)

    async def course(self, id: str) -> Course | None:
        return await self._run(course_in, id)

    async def courses(self, school: str | None = None) -> list[Course]:
        return await self._run(courses_in, school)

    async def enrolled_students(self, course: str) -> list[Student]:
        return await self._run(enrolled_students_in, course)

    async def put_school(self, school: School) -> bool:
        return await self._run(put_school_in, school)

    async def add_classroom(self, classroom: Classroom) -> None:
        await self._run(insert_classroom_in, classroom)

    async def add_student(self, student: Student) -> None:
        await self._run(insert_student_in, student)

    async def update_student(self, student: Student) -> None:
        await self._run(update_student_in, student)

    async def add_course(self, course: Course) -> None:
        await self._run(insert_course_in, course)

    async def enrol(self, course: str, codes: Sequence[str]) -> list[str]:
        """Enrol every code in one transaction; the codes newly enrolled, in the order given."""
        return await self._run(_enrol_all_in, course, list(codes))

    async def unenrol(self, course: str, code: str) -> bool:
        return await self._run(unenrol_in, course, code)

    async def import_roster(self, school: str, roster: Roster, *, dry_run: bool) -> RosterPlan:
        """Plan and (unless ``dry_run``) apply a roster in one transaction."""
        return await self._run(import_roster_in, school, roster, dry_run)


def _enrol_all_in(tx: Tx, course: str, codes: list[str]) -> list[str]:
    return [code for code in codes if enrol_in(tx, course, code)]
