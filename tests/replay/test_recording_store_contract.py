"""The RecordingStore contract, run against every implementation: SQL on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from classroom.errors import Conflict, NotFound, ValidationError
from classroom.recordings import MAX_CHAPTERS, Chapter, RecordingStatus, Track, new_chapter
from server.edge.database import Database
from server.replay.store import RECORDINGS_SCHEMA, RecordingStore, SqlRecordingStore
from tests.support.databases import ENGINES, drop_database, new_database, same_database
from tests.support.recordings import STARTED_AT, recording


@pytest.fixture(params=ENGINES)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    db = new_database(request.param, tmp_path / "recordings.db", RECORDINGS_SCHEMA)
    yield db
    await drop_database(db)


@pytest.fixture
async def store(database: Database) -> AsyncIterator[RecordingStore]:
    impl: RecordingStore = SqlRecordingStore(database)
    await impl.open()
    yield impl
    await impl.close()


async def test_created_recording_reads_back_equal(store: RecordingStore) -> None:
    original = dataclasses.replace(recording("R1"), chapters=(Chapter(12.5, "Clamping", "alice"),))
    await store.create(original)
    assert await store.get("R1") == original


async def test_a_recording_without_course_end_or_tracks_reads_back_equal(store: RecordingStore) -> None:
    original = recording("R1", course=None, ended_at=None, status=RecordingStatus.RECORDING, tracks=())
    await store.create(original)
    assert await store.get("R1") == original


async def test_creating_a_duplicate_id_conflicts(store: RecordingStore) -> None:
    await store.create(recording("R1"))
    with pytest.raises(Conflict):
        await store.create(recording("R1", lesson_id="L2"))


async def test_unknown_ids_raise_not_found(store: RecordingStore) -> None:
    with pytest.raises(NotFound):
        await store.get("nope")
    with pytest.raises(NotFound):
        await store.update("nope", status=RecordingStatus.COMPLETE)
    with pytest.raises(NotFound):
        await store.delete("nope")
    with pytest.raises(NotFound):
        await store.add_chapter("nope", Chapter(1.0, "x", "alice"))


async def test_list_is_newest_first_and_filters(store: RecordingStore) -> None:
    await store.create(recording("A", "L1", started_at=100.0))
    await store.create(recording("B", "L1", started_at=200.0, course="welding"))
    await store.create(recording("C", "L2", started_at=300.0))
    await store.create(recording("W", "L3", started_at=400.0, school="west"))
    assert [r.id for r in await store.list()] == ["W", "C", "B", "A"]
    assert [r.id for r in await store.list(school="east")] == ["C", "B", "A"]
    assert [r.id for r in await store.list(lesson_id="L1")] == ["B", "A"]
    assert [r.id for r in await store.list(course="welding")] == ["B"]
    assert [r.id for r in await store.list(since=200.0)] == ["W", "C", "B"]
    assert [r.id for r in await store.list(until=200.0)] == ["B", "A"]
    assert [r.id for r in await store.list(school="east", since=150.0, until=300.0)] == ["C", "B"]
    assert await store.list(lesson_id="L1", school="west") == []


async def test_update_changes_only_the_given_fields(store: RecordingStore) -> None:
    await store.create(recording("R1", ended_at=None, status=RecordingStatus.RECORDING, tracks=()))
    tracks = (Track("teacher/camera", "video", "vp8", "R1/cam.webm", 640, 360),)
    updated = await store.update("R1", tracks=tracks)
    assert updated.tracks == tracks and updated.status is RecordingStatus.RECORDING and updated.ended_at is None
    updated = await store.update("R1", status=RecordingStatus.COMPLETE, ended_at=STARTED_AT + 90)
    assert (updated.status, updated.ended_at, updated.tracks) == (RecordingStatus.COMPLETE, STARTED_AT + 90, tracks)
    chapters = (Chapter(30.0, "b", "alice"), Chapter(10.0, "a", "alice"))
    updated = await store.update("R1", chapters=chapters)
    assert [c.at_s for c in updated.chapters] == [10.0, 30.0]
    assert await store.get("R1") == updated


async def test_chapters_are_added_in_media_order(store: RecordingStore) -> None:
    await store.create(recording("R1"))
    await store.add_chapter("R1", Chapter(50.0, "Second", "alice"))
    updated = await store.add_chapter("R1", Chapter(5.0, "First", "alice"))
    assert [c.title for c in updated.chapters] == ["First", "Second"]
    assert (await store.get("R1")).chapters == updated.chapters


async def test_a_full_chapter_list_conflicts(store: RecordingStore) -> None:
    full = tuple(Chapter(float(i), f"c{i}", "alice") for i in range(MAX_CHAPTERS))
    await store.create(dataclasses.replace(recording("R1"), chapters=full))
    with pytest.raises(Conflict):
        await store.add_chapter("R1", Chapter(1.0, "one more", "alice"))


async def test_delete_removes_only_that_recording(store: RecordingStore) -> None:
    await store.create(recording("R1"))
    await store.create(recording("R2"))
    await store.delete("R1")
    with pytest.raises(NotFound):
        await store.get("R1")
    assert [r.id for r in await store.list()] == ["R2"]


async def test_mark_interrupted_marks_only_recordings_in_progress(store: RecordingStore) -> None:
    await store.create(recording("LIVE1", ended_at=None, status=RecordingStatus.RECORDING))
    await store.create(recording("LIVE2", ended_at=None, status=RecordingStatus.RECORDING, started_at=STARTED_AT + 1))
    await store.create(recording("DONE"))
    await store.create(recording("DISK", status=RecordingStatus.STOPPED_DISK_LOW))
    assert await store.mark_interrupted() == ["LIVE1", "LIVE2"]
    statuses = {r.id: r.status for r in await store.list()}
    assert statuses == {"LIVE1": RecordingStatus.INTERRUPTED, "LIVE2": RecordingStatus.INTERRUPTED,
                        "DONE": RecordingStatus.COMPLETE, "DISK": RecordingStatus.STOPPED_DISK_LOW}
    live1 = await store.get("LIVE1")
    assert live1.tracks == recording("LIVE1").tracks  # nothing but the status changes
    assert await store.mark_interrupted() == []


async def test_rows_survive_a_reopen(database: Database) -> None:
    first = SqlRecordingStore(database)
    await first.open()
    await first.create(recording("R1", ended_at=None, status=RecordingStatus.RECORDING))
    await first.close()  # as if the process died mid-recording
    second = SqlRecordingStore(same_database(database, RECORDINGS_SCHEMA))
    await second.open()
    try:
        assert await second.mark_interrupted() == ["R1"]
        assert (await second.get("R1")).status is RecordingStatus.INTERRUPTED
    finally:
        await second.close()


async def test_each_node_marks_only_its_own_recordings_interrupted(database: Database) -> None:
    east = SqlRecordingStore(database, node="east-node")
    west = SqlRecordingStore(same_database(database, RECORDINGS_SCHEMA), node="west-node")
    await east.open()
    await west.open()
    try:
        await east.create(recording("E1", ended_at=None, status=RecordingStatus.RECORDING))
        await west.create(recording("W1", ended_at=None, status=RecordingStatus.RECORDING))
        assert await east.mark_interrupted() == ["E1"]  # east restarted; west is still recording W1
        assert (await west.get("W1")).status is RecordingStatus.RECORDING
        assert await west.mark_interrupted() == ["W1"]
    finally:
        await west.close()
        await east.close()


@pytest.mark.parametrize(("at_s", "title"), [(-1, "x"), ("5", "x"), (True, "x"), (float("nan"), "x"),
                                             (3601, "x"), (5, ""), (5, "  "), (5, 7), (5, "x" * 201)])
def test_bad_chapters_are_refused(at_s: object, title: object) -> None:
    with pytest.raises(ValidationError):
        new_chapter(at_s, title, "alice", 3600.0)
