"""The attendance corrections store, one contract on SQLite and on PostgreSQL: overrides and excuses are
appended in order, per lesson, idempotent by key, and a key reused for something else changes nothing."""

from __future__ import annotations

import pytest

from classroom.attendance import Excuse, Override, Status
from classroom.errors import Conflict
from server.attendance.store import (
    ATTENDANCE_SCHEMA,
    add_excuse_in,
    add_override_in,
    corrections_count_in,
    excuses_in,
    overrides_in,
)
from server.edge.database import Database, Tx
from tests.support.databases import OpenDatabase


def absent(student: str, reason: str = "left early", at: float = 100.0) -> Override:
    return Override(student=student, status=Status.ABSENT, reason=reason, author="admin-1", at=at)


async def store(open_db: OpenDatabase) -> Database:
    return await open_db(ATTENDANCE_SCHEMA)


async def test_overrides_are_kept_in_order_per_lesson(open_db: OpenDatabase) -> None:
    db = await store(open_db)

    def add(tx: Tx) -> None:
        add_override_in(tx, "k1", "L1", absent("S1"), "east")
        add_override_in(tx, "k2", "L2", absent("S9"), "west")
        add_override_in(tx, "k3", "L1", absent("S2", at=200.0), "east")

    await db.transact(add)
    first = await db.read(overrides_in, "L1")
    assert [(r.key, r.override.student, r.override.at, r.author_school) for r in first] == [
        ("k1", "S1", 100.0, "east"), ("k3", "S2", 200.0, "east")]
    assert first[0].override == absent("S1")
    assert first[0].id < first[1].id
    assert [r.override.student for r in await db.read(overrides_in, "L2")] == ["S9"]
    assert await db.read(overrides_in, "L3") == []


async def test_an_override_key_given_again_returns_the_first_record(open_db: OpenDatabase) -> None:
    db = await store(open_db)
    first, created = await db.transact(add_override_in, "k1", "L1", absent("S1"), "east")
    again, created_again = await db.transact(add_override_in, "k1", "L1", absent("S1", at=999.0), "east")
    assert (created, created_again) == (True, False)
    assert again == first
    assert len(await db.read(overrides_in, "L1")) == 1


async def test_an_override_key_reused_for_another_override_is_refused_and_changes_nothing(
    open_db: OpenDatabase
) -> None:
    db = await store(open_db)
    await db.transact(add_override_in, "k1", "L1", absent("S1"), "east")
    with pytest.raises(Conflict):
        await db.transact(add_override_in, "k1", "L1", absent("S2"), "east")
    assert [r.override.student for r in await db.read(overrides_in, "L1")] == ["S1"]


async def test_excuses_for_students_and_classroom_outages_round_trip(open_db: OpenDatabase) -> None:
    db = await store(open_db)
    student = Excuse(reason="hospital", student="S1")
    outage = Excuse(reason="power cut", classroom="west-lab", start=10.5, end=70.25)
    await db.transact(add_excuse_in, "e1", "L1", student, "admin-1", "east", 50.0)
    await db.transact(add_excuse_in, "e2", "L1", outage, "admin-2", "west", 60.0)
    found = await db.read(excuses_in, "L1")
    assert [(r.key, r.excuse, r.author, r.author_school, r.at) for r in found] == [
        ("e1", student, "admin-1", "east", 50.0), ("e2", outage, "admin-2", "west", 60.0)]


async def test_an_excuse_key_is_idempotent_and_refused_for_another_excuse(open_db: OpenDatabase) -> None:
    db = await store(open_db)
    excuse = Excuse(reason="hospital", student="S1")
    first, created = await db.transact(add_excuse_in, "e1", "L1", excuse, "admin-1", "east", 50.0)
    again, created_again = await db.transact(add_excuse_in, "e1", "L1", excuse, "admin-1", "east", 51.0)
    assert (created, created_again, again) == (True, False, first)
    with pytest.raises(Conflict):
        await db.transact(add_excuse_in, "e1", "L1", Excuse(reason="other", student="S1"), "admin-1", "east", 52.0)
    assert await db.read(excuses_in, "L1") == [first]


async def test_the_same_key_in_two_lessons_is_two_corrections(open_db: OpenDatabase) -> None:
    db = await store(open_db)
    await db.transact(add_override_in, "k", "L1", absent("S1"), "east")
    await db.transact(add_override_in, "k", "L2", absent("S1"), "east")
    assert len(await db.read(overrides_in, "L1")) == len(await db.read(overrides_in, "L2")) == 1


async def test_corrections_are_counted_per_lesson(open_db: OpenDatabase) -> None:
    db = await store(open_db)
    assert await db.read(corrections_count_in, "L1") == 0

    def add(tx: Tx) -> None:
        add_override_in(tx, "k1", "L1", absent("S1"), "east")
        add_override_in(tx, "k2", "L1", absent("S2"), "east")
        add_excuse_in(tx, "e1", "L1", Excuse(reason="ill", student="S3"), "admin-1", "east", 1.0)
        add_excuse_in(tx, "e1", "L2", Excuse(reason="ill", student="S3"), "admin-1", "east", 1.0)

    await db.transact(add)
    assert await db.read(corrections_count_in, "L1") == 3
    assert await db.read(corrections_count_in, "L2") == 1


async def test_a_transaction_that_fails_leaves_no_correction(open_db: OpenDatabase) -> None:
    db = await store(open_db)

    def add_then_fail(tx: Tx) -> None:
        add_override_in(tx, "k1", "L1", absent("S1"), "east")
        add_override_in(tx, "k1", "L1", absent("S2"), "east")  # Conflict: the whole transaction rolls back

    with pytest.raises(Conflict):
        await db.transact(add_then_fail)
    assert await db.read(overrides_in, "L1") == []
    assert await db.read(corrections_count_in, "L1") == 0
