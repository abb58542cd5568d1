"""The presence log on SQLite and PostgreSQL: append-only, idempotent, group-committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from classroom.attendance import PresenceEvent, PresenceKind
from classroom.errors import ValidationError
from server.presence.log import PRESENCE_SCHEMA, EventKeyConflict, PresenceLog
from tests.support.databases import OpenDatabase


@pytest.fixture
async def presence(open_db: OpenDatabase) -> AsyncIterator[PresenceLog]:
    log = PresenceLog(await open_db(PRESENCE_SCHEMA))
    log.start()
    yield log
    await log.close()


def checkin(student: str, at: float = 100.0, key: str | None = None, lesson: str = "L1") -> PresenceEvent:
    return PresenceEvent(lesson=lesson, kind=PresenceKind.STUDENT_CHECKIN, at=at, classroom="room-1",
                         student=student, source="roster", key=key or f"{lesson}:in:{student}")


async def test_events_read_back_in_append_order(presence: PresenceLog) -> None:
    assert await presence.append([checkin("A1"), checkin("B2")], "room-1") == ["created", "created"]
    assert await presence.append([checkin("C3", lesson="L2")], "room-1") == ["created"]
    events = await presence.events("L1")
    assert [e.student for e in events] == ["A1", "B2"]
    assert events[0] == checkin("A1")


async def test_a_retry_with_the_same_content_answers_exists(presence: PresenceLog) -> None:
    await presence.append([checkin("A1", at=100.0)], "room-1")
    # the retry arrives later: its receive time differs, its content does not
    assert await presence.append([checkin("A1", at=105.0), checkin("B2")], "room-1") == ["exists", "created"]
    assert [e.at for e in await presence.events("L1")] == [100.0, 100.0]


async def test_a_key_reused_for_other_content_is_refused_and_nothing_of_the_batch_is_written(
        presence: PresenceLog) -> None:
    await presence.append([checkin("A1", key="k1")], "room-1")
    with pytest.raises(EventKeyConflict):
        await presence.append([checkin("B2"), checkin("C3", key="k1")], "room-1")
    assert [e.student for e in await presence.events("L1")] == ["A1"]


async def test_a_key_twice_in_one_batch_counts_once(presence: PresenceLog) -> None:
    assert await presence.append([checkin("A1"), checkin("A1")], "room-1") == ["created", "exists"]
    assert len(await presence.events("L1")) == 1


@pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "too-long"])
async def test_bad_keys_are_refused(presence: PresenceLog, key: str) -> None:
    event = PresenceEvent(lesson="L1", kind=PresenceKind.STUDENT_CHECKIN, at=1.0, student="A1", key=key)
    with pytest.raises(ValidationError):
        await presence.append([event], "room-1")
    assert await presence.events("L1") == []


async def test_concurrent_batches_commit_together_and_each_learns_its_outcome(presence: PresenceLog) -> None:
    await presence.append([checkin("X0", key="taken")], "room-1")
    batches = [[checkin(f"S{i:03d}")] for i in range(200)]
    conflicting = [checkin("Y9", key="taken")]
    results = await asyncio.gather(*(presence.append(b, "room-1") for b in batches),
                                   presence.append(conflicting, "room-1"), return_exceptions=True)
    assert all(r == ["created"] for r in results[:-1])
    assert isinstance(results[-1], EventKeyConflict)
    assert len(await presence.events("L1")) == 201


async def test_submitted_events_are_committed_by_close(open_db: OpenDatabase) -> None:
    db = await open_db(PRESENCE_SCHEMA)
    log = PresenceLog(db)
    log.start()
    future = log.submit([checkin("A1")], "server")
    await log.close()
    assert future.result() == ["created"]
    reopened = PresenceLog(db)
    reopened.start()
    assert [e.student for e in await reopened.events("L1")] == ["A1"]
    await reopened.close()
