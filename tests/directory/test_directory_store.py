"""The directory store behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from classroom.errors import Conflict
from classroom.people import Classroom, Course, School, Student
from classroom.roster import parse_roster
from server.directory.store import (
    DIRECTORY_SCHEMA,
    DirectoryStore,
    enrolled_students_in,
    is_enrolled_in,
    student_in,
)
from server.edge.database import IntegrityError, Tx
from tests.support.databases import OpenDatabase, open_db  # noqa: F401

LI = Student("YN-000001", "李四", "west", "west-1")
ANA = Student("YN-000002", "Ana", "west", "west-2")
BO = Student("FAR-000001", "Bo", "far", "far-1")
MOULD = Course("mould-101", "east", "Mould design", 150)


async def directory(open_db: OpenDatabase) -> DirectoryStore:  # noqa: F811
    store = DirectoryStore(await open_db(DIRECTORY_SCHEMA))
    for school in (School("east", "East vocational", "Guangdong"), School("west", "West", None),
                   School("far", "Far", None)):
        await store.put_school(school)
    for classroom in (Classroom("west-1", "west", "W1"), Classroom("west-2", "west", "W2"),
                      Classroom("far-1", "far", "F1")):
        await store.add_classroom(classroom)
    await store.add_course(MOULD)
    for student in (LI, ANA, BO):
        await store.add_student(student)
    return store


async def test_people_read_back(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    assert await store.student("YN-000001") == LI
    assert await store.student("YN-404404") is None
    assert await store.students("west") == [LI, ANA]
    assert await store.students("west", "west-2") == [ANA]
    assert await store.students_by_code(["FAR-000001", "YN-000001", "NOPE-0000"]) == {"FAR-000001": BO,
                                                                                      "YN-000001": LI}
    assert await store.classroom("far-1") == Classroom("far-1", "far", "F1")
    assert [room.id for room in await store.classrooms("west")] == ["west-1", "west-2"]
    assert len(await store.classrooms()) == 3
    assert await store.course("mould-101") == MOULD and await store.courses("west") == []
    assert [school.id for school in await store.schools()] == ["east", "far", "west"]


async def test_put_school_registers_then_renames(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    assert await store.put_school(School("near", "Near", None)) is True
    assert await store.put_school(School("near", "Nearer", "Yunnan")) is False
    assert await store.school("near") == School("near", "Nearer", "Yunnan")


async def test_a_code_is_unique_across_schools(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    with pytest.raises(Conflict, match="YN-000001"):
        await store.add_student(Student("YN-000001", "Someone else", "far", "far-1"))
    assert await store.student("YN-000001") == LI


async def test_a_student_needs_a_classroom_of_their_own_school(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    with pytest.raises(Conflict, match="not a classroom of west"):
        await store.add_student(Student("YN-000003", "Ma", "west", "far-1"))
    with pytest.raises(Conflict, match="does not exist"):
        await store.update_student(Student("YN-000001", "Li", "west", "nowhere"))
    assert await store.student("YN-000003") is None and await store.student("YN-000001") == LI


async def test_the_schema_itself_refuses_a_classroom_of_another_school(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)

    def sneak(tx: Tx) -> None:
        tx.execute("INSERT INTO students (code, name, school, classroom) VALUES ('YN-000009', 'X', 'west', 'far-1')")

    with pytest.raises(IntegrityError):
        await store.db.transact(sneak)


async def test_duplicate_classrooms_and_courses_and_unregistered_schools_conflict(
    open_db: OpenDatabase,  # noqa: F811
) -> None:
    store = await directory(open_db)
    with pytest.raises(Conflict, match="already exists"):
        await store.add_classroom(Classroom("west-1", "far", "again"))
    with pytest.raises(Conflict, match="already exists"):
        await store.add_course(Course("mould-101", "east", "again", 100))
    with pytest.raises(Conflict, match="not registered"):
        await store.add_course(Course("c2", "nowhere", "t", 100))
    with pytest.raises(Conflict, match="not registered"):
        await store.add_classroom(Classroom("nw-1", "nowhere", "t"))


async def test_update_student_changes_name_and_classroom(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    await store.update_student(Student("YN-000001", "李小四", "west", "west-2"))
    assert await store.student("YN-000001") == Student("YN-000001", "李小四", "west", "west-2")
    with pytest.raises(Conflict):
        await store.update_student(Student("YN-000001", "Li", "far", "far-1"))


async def test_enrol_and_unenrol_are_idempotent(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    assert await store.enrol("mould-101", ["YN-000001", "FAR-000001"]) == ["YN-000001", "FAR-000001"]
    assert await store.enrol("mould-101", ["YN-000001", "YN-000002"]) == ["YN-000002"]
    assert await store.enrolled_students("mould-101") == [BO, LI, ANA]
    assert await store.unenrol("mould-101", "YN-000001") is True
    assert await store.unenrol("mould-101", "YN-000001") is False
    assert await store.db.transact(enrolled_students_in, "mould-101") == [BO, ANA]
    assert await store.db.transact(is_enrolled_in, "mould-101", "YN-000002") is True
    assert await store.db.transact(is_enrolled_in, "mould-101", "YN-000001") is False
    assert await store.enrolled_students("no-such-course") == []


async def test_enrolling_an_unknown_student_changes_nothing(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    with pytest.raises(Conflict):
        await store.enrol("mould-101", ["YN-000001", "YN-404404"])
    assert await store.enrolled_students("mould-101") == []


async def test_tx_functions_compose_inside_another_transaction(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    await store.enrol("mould-101", ["YN-000002"])

    def read(tx: Tx) -> tuple[Student | None, list[Student]]:
        return student_in(tx, "YN-000001"), enrolled_students_in(tx, "mould-101")

    assert await store.db.transact(read) == (LI, [ANA])


ROSTER = (
    "code,name,classroom,course\n"
    "YN-000001,李四 renamed,west-2,mould-101\n"  # existing: updated and enrolled
    "YN-000003,New,west-1,\n"  # created
    "FAR-000001,Bo,west-1,\n"  # another school's code
    "YN-000004,Lost,nowhere,\n"  # unknown classroom
    "YN-000002,Ana,west-2,mould-101\n"  # unchanged, enrolled
)


async def test_a_dry_run_import_plans_without_changing_anything(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    plan = await store.import_roster("west", parse_roster(ROSTER.encode()), dry_run=True)
    assert [s.code for s in plan.created] == ["YN-000003"] and [s.code for s in plan.updated] == ["YN-000001"]
    assert len(plan.enrolments) == 2 and [(e.row, e.field) for e in plan.errors] == [(3, "code"), (4, "classroom")]
    assert await store.students("west") == [LI, ANA] and await store.enrolled_students("mould-101") == []


async def test_an_import_applies_the_valid_rows_in_one_transaction(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    await store.import_roster("west", parse_roster(ROSTER.encode()), dry_run=False)
    assert await store.student("YN-000001") == Student("YN-000001", "李四 renamed", "west", "west-2")
    assert await store.student("YN-000003") == Student("YN-000003", "New", "west", "west-1")
    assert await store.student("FAR-000001") == BO and await store.student("YN-000004") is None
    assert [s.code for s in await store.enrolled_students("mould-101")] == ["YN-000001", "YN-000002"]
    again = await store.import_roster("west", parse_roster(ROSTER.encode()), dry_run=False)
    assert (again.created, again.updated, again.enrolments) == ((), (), ())


async def test_a_large_import_spans_query_chunks(open_db: OpenDatabase) -> None:  # noqa: F811
    store = await directory(open_db)
    lines = "".join(f"YN-{index:06d},S{index},west-1,mould-101\n" for index in range(10, 1210))
    plan = await store.import_roster("west", parse_roster(("code,name,classroom,course\n" + lines).encode()),
                                     dry_run=False)
    assert len(plan.created) == 1200 and len(plan.enrolments) == 1200 and plan.errors == ()
    assert len(await store.enrolled_students("mould-101")) == 1200
    again = await store.import_roster("west", parse_roster(("code,name,classroom,course\n" + lines).encode()),
                                      dry_run=True)
    assert (again.created, again.enrolments) == ((), ())
