"""Databases made by main at b208d0a (before migrations) open with this code, keep every row and take
new writes; on SQLite (every store's file) and on PostgreSQL (the credit tables main kept there).

The fixture in ``main_b208d0a/`` was written by that commit's own stores (``make_fixture.py``).
"""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from starlette.applications import Starlette

from classroom.attendance import PresenceEvent, PresenceKind
from classroom.lessons import LessonState, new_lesson
from classroom.recognition import RecognitionStatus
from classroom.recordings import RecordingStatus
from server.attendance.store import excuses_in, overrides_in
from server.credits.tables import posted_lessons_in, recognitions_in, rules_in
from server.directory.store import classrooms_in, enrolled_students_in, schools_in
from server.edge.app import create_app
from server.edge.database import Tx
from server.edge.migrations import applied_versions_in
from server.edge.settings import Settings
from server.ledger.store import append_in, checkpoints_in, entries_for_school_in
from server.presence.log import events_in
from server.training.event_log import Event
from tests.support.databases import drop_schema, postgres_url
from tests.support.ledger import earned
from tests.support.recordings import recording

FIXTURE = Path(__file__).parent / "main_b208d0a"
T0 = 1_780_000_000.0
AT = "2026-05-28T21:00:00.000000Z"


def load_sqlite(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("classroom", "recordings", "training", "credits"):
        conn = sqlite3.connect(data_dir / f"{name}.db")
        conn.executescript((FIXTURE / f"{name}.sql").read_text())
        conn.close()


def load_postgres(namespace: str) -> None:
    """The dump of main's credit tables, restored into ``namespace`` (psql's meta-commands left out)."""
    script = "\n".join(line for line in (FIXTURE / "credits.pg.sql").read_text().splitlines()
                       if not line.startswith("\\"))
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(script.replace("upgrade_fixture", namespace).encode())


@asynccontextmanager
async def upgraded_app(engine: str, tmp_path: Path) -> AsyncIterator[Starlette]:
    """The app of this code on a data dir (and, for PostgreSQL, a schema) made by main."""
    settings = Settings(data_dir=tmp_path / "var")
    namespace = f"t_{secrets.token_hex(6)}"
    if engine == "sqlite":
        load_sqlite(settings.data_dir)
    else:
        load_postgres(namespace)
        settings = dataclasses.replace(settings, database_url=postgres_url(), database_schema=namespace)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        if engine == "postgresql":
            drop_schema(namespace)


@pytest.fixture(params=["sqlite", "postgresql"])
async def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, Starlette]]:
    async with upgraded_app(request.param, tmp_path) as app:
        yield request.param, app


def _credit_rows_in(tx: Tx) -> dict[str, object]:
    return {
        "schools": [s.id for s in schools_in(tx)],
        "classrooms": [c.id for c in classrooms_in(tx)],
        "enrolled": [s.code for s in enrolled_students_in(tx, "mould")],
        "presence": [(e.key, e.kind) for e in events_in(tx, "L1")],
        "request": tx.one("SELECT digest FROM presence_requests WHERE key = ?", ("req-1",)),
        "overrides": [o.override.reason for o in overrides_in(tx, "L1")],
        "excuses": [e.excuse.reason for e in excuses_in(tx, "L1")],
        "entries": [(e.key, e.amount) for e in entries_for_school_in(tx, "east", 10, 0)],
        "checkpoints": [c.seq for c in checkpoints_in(tx, 0, 10, 10)],
        "recognitions": [(r.student, r.status) for r in recognitions_in(tx, "west", None, 10, 0)],
        "rules": [(r.home_course, r.factor_pct) for r in rules_in(tx, "west")],
        "posted": posted_lessons_in(tx, ["L1", "L2"]),
    }


async def test_main_credit_tables_read_back_after_the_upgrade(upgraded: tuple[str, Starlette]) -> None:
    engine, app = upgraded
    rows = await app.state.credits_db.read(_credit_rows_in)
    # start-up posts the ended lessons an earlier run did not: main's L2 (SQLite only: main kept lessons there)
    assert rows.pop("posted") == ({"L1", "L2"} if engine == "sqlite" else {"L1"})
    assert rows == {
        "schools": ["east", "west"],
        "classrooms": ["east-1", "west-1"],
        "enrolled": ["SW-0001", "SW-0002"],
        "presence": [("k-join", PresenceKind.CLASSROOM_JOIN), ("k-in", PresenceKind.STUDENT_CHECKIN)],
        "request": ("digest-1",),
        "overrides": ["camera broke"],
        "excuses": ["ill"],
        "entries": [("earned:L1:SW-0001:1", 150), ("earned:L1:SW-0002:1", 150)],
        "checkpoints": [2],
        "recognitions": [("SW-0002", RecognitionStatus.PENDING)],
        "rules": [("weld", 50)],
    }


async def test_main_lessons_recordings_and_training_read_back_after_the_upgrade(tmp_path: Path) -> None:
    """SQLite only: main kept lessons, recordings and the training log in each node's SQLite files."""
    async with upgraded_app("sqlite", tmp_path) as app:
        await _check_lessons_recordings_and_training(app)


async def _check_lessons_recordings_and_training(app: Starlette) -> None:
    lessons = await app.state.store.list()
    assert [(x.id, x.state, x.ended_at) for x in lessons] == [("L1", LessonState.SCHEDULED, None),
                                                             ("L2", LessonState.ENDED, T0 + 3620)]
    recordings = {r.id: r for r in await app.state.recordings.list()}
    assert recordings["R1"].chapters[0].title == "Clamping"
    assert [t.file for t in recordings["R1"].tracks] == ["R1/teacher-camera.webm", "R1/teacher-mic.webm"]
    assert recordings["R2"].status is RecordingStatus.INTERRUPTED  # left "recording" by the old process
    events = await app.state.training_log.read("L1")
    assert [e.kind for e in events] == ["snapshot", "command", "patch", "chat", "marker"]
    assert await app.state.lesson_timeline.state_at("L1", T0 + 30) == (2, {"a": 2})
    timeline = await app.state.lesson_timeline.timeline("L1", 0, 10, T0 + 20)
    assert [(e.t, e.kind) for e in timeline] == [(2.0, "command"), (4.0, "chat"), (5.0, "marker")]


async def _versions(app: Starlette) -> dict[str, int]:
    """Every capability's version, over the databases (one on PostgreSQL, one per file on SQLite)."""
    found: dict[str, int] = {}
    for db in (app.state.credits_db, app.state.store.db, app.state.recordings.db, app.state.training_log.db):
        found |= await db.read(applied_versions_in)
    return found


async def test_every_store_takes_new_writes_after_the_upgrade(upgraded: tuple[str, Starlette]) -> None:
    _engine, app = upgraded
    await app.state.store.create(new_lesson("L3", "New lesson", "east", "alice", "mould", False, T0 + 5000))
    assert (await app.state.store.get("L3")).title == "New lesson"
    await app.state.recordings.create(recording("R3", "L3", started_at=T0 + 5001))
    assert (await app.state.recordings.get("R3")).lesson_id == "L3"
    await app.state.training_log.append([Event("L3", T0 + 5002, "command", 1, {"op": "go"})])
    assert [e.body for e in await app.state.training_log.read("L3")] == [{"op": "go"}]
    assert await app.state.presence_log.append(
        [PresenceEvent("L3", PresenceKind.CLASSROOM_JOIN, T0 + 5003, classroom="east-1", session="s2", key="k-3")],
        "classroom:east-1") == ["created"]
    appended = await app.state.credits_db.transact(append_in, [earned(3, student="SW-0001")], AT, None)
    assert appended[0].entry.seq == 3  # after main's two entries
    assert await _versions(app) == {
        "directory": 1, "presence": 1, "attendance": 1, "ledger": 1, "credits": 1, "lessons": 1, "recordings": 2,
        "training": 2}
