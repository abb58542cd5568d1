"""The training event log's contract, on SQLite and on PostgreSQL: durable, ordered, group-committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.edge.database import Database, Tx
from server.training.event_log import TRAINING_SCHEMA, Event, SqlEventLog
from tests.support.databases import ENGINES, drop_database, new_database, same_database


@pytest.fixture(params=ENGINES)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    db = new_database(request.param, tmp_path / "training.db", TRAINING_SCHEMA)
    yield db
    await drop_database(db)


@pytest.fixture
async def event_log(database: Database) -> AsyncIterator[SqlEventLog]:
    log = SqlEventLog(database)
    await log.open()
    yield log
    await log.close()


def event(lesson: str, at: float, revision: int = 0, kind: str = "command") -> Event:
    return Event(lesson, at, kind, revision, {"n": revision, "text": "é"})


async def test_events_read_back_in_log_order_by_lesson_and_time(event_log: SqlEventLog) -> None:
    await event_log.append([event("L1", 10.0, 1), event("L2", 11.0, 2), event("L1", 9.0, 3)])
    await event_log.append([event("L1", 12.0, 4, "patch")])
    assert [e.revision for e in await event_log.read("L1")] == [1, 3, 4]  # log order, not time order
    assert [e.revision for e in await event_log.read("L1", since=9.5, until=11.0)] == [1]
    assert await event_log.read("L1") == [event("L1", 10.0, 1), event("L1", 9.0, 3), event("L1", 12.0, 4, "patch")]


async def test_concurrent_appends_share_commits_and_all_land(event_log: SqlEventLog) -> None:
    before = event_log.commits
    await asyncio.gather(*(event_log.append([event("L1", float(n), n)]) for n in range(50)))
    assert sorted(e.revision for e in await event_log.read("L1")) == list(range(50))
    assert event_log.commits - before < 50


async def test_an_acknowledged_append_is_visible_to_another_connection(event_log: SqlEventLog,
                                                                       database: Database) -> None:
    await event_log.append([event("L1", 1.0, 7)])
    other = SqlEventLog(same_database(database, TRAINING_SCHEMA))
    await other.open()
    try:
        assert [e.revision for e in await other.read("L1")] == [7]
    finally:
        await other.close()


async def test_close_commits_what_is_queued(database: Database) -> None:
    log = SqlEventLog(database)
    await log.open()
    pending = [asyncio.ensure_future(log.append([event("L1", float(n), n)])) for n in range(10)]
    await asyncio.sleep(0)  # the appends are queued, not yet committed
    await log.close()
    await asyncio.gather(*pending)
    reopened = SqlEventLog(same_database(database, TRAINING_SCHEMA))
    await reopened.open()
    try:
        assert len(await reopened.read("L1")) == 10
    finally:
        await reopened.close()


async def test_a_non_finite_body_is_refused_and_stores_nothing(event_log: SqlEventLog) -> None:
    with pytest.raises(ValueError):
        await event_log.append([event("L1", 1.0, 1), Event("L1", 2.0, "patch", 2, {"x": float("nan")})])
    assert await event_log.read("L1") == []


def _durability_in(tx: Tx) -> str:
    row = tx.one("PRAGMA synchronous") if tx.dialect == "sqlite" else tx.one("SHOW synchronous_commit")
    assert row is not None
    return str(row[0])


async def test_commits_are_fsynced(event_log: SqlEventLog) -> None:
    setting = await event_log.db.transact(_durability_in)
    assert setting == ("2" if event_log.db.dialect == "sqlite" else "on")  # SQLite FULL; PostgreSQL on


async def test_appending_before_open_is_refused(database: Database) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await SqlEventLog(database).append([event("L1", 1.0)])
