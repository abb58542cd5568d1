"""The LessonStore contract, run against every implementation: in memory, SQL on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from classroom.errors import Conflict, NotFound
from classroom.lessons import Lesson, LessonState, new_lesson
from server.edge.database import Database
from server.lessons.store import LESSONS_SCHEMA, LessonStore, MemoryLessonStore, SqlLessonStore
from tests.support.databases import ENGINES, drop_database, new_database, same_database


@pytest.fixture(params=["memory", *ENGINES])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LessonStore]:
    if request.param == "memory":
        impl: LessonStore = MemoryLessonStore()
        await impl.open()
        yield impl
        await impl.close()
        return
    db = new_database(request.param, tmp_path / "l.db", LESSONS_SCHEMA)
    impl = SqlLessonStore(db)
    await impl.open()
    yield impl
    await impl.close()
    await drop_database(db)


@pytest.fixture(params=ENGINES)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    db = new_database(request.param, tmp_path / "l.db", LESSONS_SCHEMA)
    yield db
    await drop_database(db)


def lesson(lesson_id: str, school: str = "east", created_at: float = 1.0) -> Lesson:
    return new_lesson(lesson_id, f"Lesson {lesson_id}", school, "alice", None, True, created_at)


async def test_created_lesson_reads_back_equal(store: LessonStore) -> None:
    original = dataclasses.replace(lesson("L1"), course="mould", started_at=2.5)
    await store.create(original)
    assert await store.get("L1") == original


async def test_creating_a_duplicate_id_conflicts(store: LessonStore) -> None:
    await store.create(lesson("L1"))
    with pytest.raises(Conflict):
        await store.create(lesson("L1"))


async def test_getting_an_unknown_lesson_raises_not_found(store: LessonStore) -> None:
    with pytest.raises(NotFound):
        await store.get("nope")


async def test_list_is_oldest_first_and_filters_by_school(store: LessonStore) -> None:
    await store.create(lesson("B", created_at=2.0))
    await store.create(lesson("A", created_at=1.0))
    await store.create(lesson("W", school="west", created_at=3.0))
    assert [x.id for x in await store.list()] == ["A", "B", "W"]
    assert [x.id for x in await store.list("east")] == ["A", "B"]
    assert await store.list("north") == []


async def test_update_replaces_the_stored_lesson(store: LessonStore) -> None:
    await store.create(lesson("L1"))
    ended = dataclasses.replace(lesson("L1"), state=LessonState.ENDED, ended_at=9.0, recording=False)
    await store.update(ended)
    assert await store.get("L1") == ended


async def test_updating_an_unknown_lesson_raises_not_found(store: LessonStore) -> None:
    with pytest.raises(NotFound):
        await store.update(lesson("ghost"))


async def test_close_is_idempotent(store: LessonStore) -> None:
    await store.close()
    await store.close()


async def test_sql_lessons_survive_reopening(database: Database) -> None:
    first = SqlLessonStore(database)
    await first.open()
    await first.create(lesson("L1"))
    await first.close()
    second = SqlLessonStore(same_database(database, LESSONS_SCHEMA))
    await second.open()
    try:
        assert (await second.get("L1")).id == "L1"
    finally:
        await second.close()


async def test_sqlite_uses_write_ahead_logging(tmp_path: Path) -> None:
    store = SqlLessonStore(new_database("sqlite", tmp_path / "l.db", LESSONS_SCHEMA))
    await store.open()
    await store.create(lesson("L1"))
    try:
        assert (tmp_path / "l.db-wal").exists()
    finally:
        await store.close()


async def test_sql_store_refuses_use_before_open(database: Database) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await SqlLessonStore(database).get("L1")
