# mypy: ignore-errors
# ruff: noqa: I001  (it imports modules of b208d0a that this tree no longer has)
"""Make the upgrade fixture: databases written by the code of main at b208d0a, before migrations.

Run it against that commit's code, not this tree's (it imports modules that commit has)::

    mkdir -p /tmp/main && git archive b208d0a | tar -x -C /tmp/main
    PYTHONPATH=/tmp/main python tests/upgrade/make_fixture.py tests/upgrade/main_b208d0a

It writes rows in every table through that code's own stores, then dumps each SQLite file
(``<file>.sql``, SQLite's own dump) and the credit tables it wrote to PostgreSQL (``credits.pg.sql``,
``pg_dump --inserts`` of the schema ``upgrade_fixture``). ``test_upgrade_from_main.py`` loads them and
opens them with the current code.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from classroom.attendance import PresenceEvent, PresenceKind
from classroom.attendance.compute import Excuse, Status
from classroom.attendance.overrides import Override
from classroom.ledger.entries import EntryDraft, EntryKind
from classroom.lessons import LessonState, new_lesson
from classroom.people import Classroom, Course, School, Student
from classroom.recognition import RecognitionRule, RecognitionStatus
from classroom.recordings import Chapter, Recording, RecordingStatus, Track
from server.app import CREDITS_SCHEMA_SQL
from server.attendance.store import add_excuse_in, add_override_in
from server.credits.tables import Recognition, add_recognition_in, add_rule_in, mark_posted_in
from server.directory.store import DirectoryStore
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import append_in
from server.lesson_timeline import SqliteLessonTimeline, append_lesson_event
from server.presence.log import PresenceLog
from server.recording_store import SqliteRecordingStore
from server.sql.database import PostgresDatabase, SqliteDatabase
from server.sqlite_lessons import SqliteLessonStore
from server.training.event_log import Event, SqliteEventLog

T0 = 1_780_000_000.0
AT = "2026-05-28T20:26:40.000000Z"
NAMESPACE = "upgrade_fixture"


async def lessons(path: Path) -> None:
    store = SqliteLessonStore(path)
    await store.open()
    await store.create(new_lesson("L1", "Insert moulding", "east", "alice", "mould", True, T0))
    ended = new_lesson("L2", "Welding basics", "west", "bob", None, False, T0 + 10)
    await store.create(ended)
    await store.update(ended.__class__(**{**ended.__dict__, "state": LessonState.ENDED, "started_at": T0 + 20,
                                          "ended_at": T0 + 3620}))
    await store.close()


async def recordings(path: Path) -> None:
    store = SqliteRecordingStore(path)
    await store.open()
    tracks = (Track("teacher/camera", "video", "vp8", "R1/teacher-camera.webm", 1280, 720),
              Track("teacher/mic", "audio", "opus", "R1/teacher-mic.webm"))
    await store.create(Recording("R1", "L1", "east", "mould", "Insert moulding", T0 + 20, T0 + 3620,
                                 RecordingStatus.COMPLETE, tracks, (Chapter(12.5, "Clamping", "alice"),)))
    await store.create(Recording("R2", "L2", "west", None, "Welding basics", T0 + 30, None,
                                 RecordingStatus.RECORDING, (), ()))
    await store.close()


async def training(path: Path) -> None:
    log = SqliteEventLog(path)
    await log.open()
    timeline = SqliteLessonTimeline(path)  # creates the timeline's partial indexes, as main's app did
    await timeline.open()
    await log.append([
        Event("L1", T0 + 21, "snapshot", 1, {"time": 0.0, "state": {"a": 1}, "scenario": "s", "rng": 1}),
        Event("L1", T0 + 22, "command", 1, {"op": "start"}),
        Event("L1", T0 + 23, "patch", 2, {"from": 1, "to": 2, "ops": [{"op": "replace", "path": "/a", "value": 2}]}),
    ])
    await append_lesson_event(log, "L1", "chat", {"from": "alice", "text": "hello"}, at=T0 + 24)
    await append_lesson_event(log, "L1", "marker", {"label": "break"}, at=T0 + 25)
    await timeline.close()
    await log.close()


async def credits(db) -> None:
    await db.open()
    directory = DirectoryStore(db)
    await directory.put_school(School("east", "East College", "north"))
    await directory.put_school(School("west", "West College", None))
    await directory.add_classroom(Classroom("east-1", "east", "Workshop 1"))
    await directory.add_classroom(Classroom("west-1", "west", "Workshop W"))
    await directory.add_student(Student("SW-0001", "Ana", "east", "east-1"))
    await directory.add_student(Student("SW-0002", "Ben", "west", "west-1"))
    await directory.add_course(Course("mould", "east", "Moulding", 150))
    await directory.enrol("mould", ["SW-0001", "SW-0002"])
    presence = PresenceLog(db)
    presence.start()
    await presence.append([
        PresenceEvent("L1", PresenceKind.CLASSROOM_JOIN, T0 + 20, classroom="east-1", session="s1", key="k-join"),
        PresenceEvent("L1", PresenceKind.STUDENT_CHECKIN, T0 + 21, classroom="east-1", session="s1",
                      student="SW-0001", source="code", key="k-in"),
    ], "classroom:east-1", ("req-1", "digest-1"))
    await presence.close()
    signer = CheckpointSigner.load_or_create(Path(tempfile.mkdtemp(prefix="fixture-key-")))
    await db.transact(_credit_rows, signer)
    await db.close()


def _credit_rows(tx, signer) -> None:
    add_override_in(tx, "o-1", "L1", Override("SW-0001", Status.PRESENT, "camera broke", "admin:east", T0 + 100),
                    "east")
    add_excuse_in(tx, "e-1", "L1", Excuse("ill", student="SW-0002"), "admin:west", "west", T0 + 101)
    earned = append_in(tx, [
        EntryDraft("earned:L1:SW-0001:1", EntryKind.EARNED, "SW-0001", "east", "mould", "L1", 150, author="system"),
        EntryDraft("earned:L1:SW-0002:1", EntryKind.EARNED, "SW-0002", "east", "mould", "L1", 150, author="system"),
    ], AT, signer)
    other = earned[1].entry
    add_recognition_in(tx, Recognition(other.seq, "SW-0002", "west", "east", "mould", "L1", 150, AT,
                                       RecognitionStatus.PENDING, None))
    add_rule_in(tx, RecognitionRule("west", "east", "mould", "weld", 50), "admin:west", T0 + 102)
    mark_posted_in(tx, "L1", "v1", AT)


def dump_sqlite(path: Path, out: Path) -> None:
    conn = sqlite3.connect(path)
    out.write_text("\n".join(conn.iterdump()) + "\n")
    conn.close()


def dump_postgres(url: str, out: Path) -> None:
    dump = subprocess.run(["pg_dump", "--inserts", "--no-owner", "--no-privileges", f"--schema={NAMESPACE}", url],
                          check=True, capture_output=True, text=True).stdout
    out.write_text(dump)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{NAMESPACE}" CASCADE')


async def main(out: Path) -> None:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        await lessons(data / "classroom.db")
        await recordings(data / "recordings.db")
        await training(data / "training.db")
        await credits(SqliteDatabase(data / "credits.db", CREDITS_SCHEMA_SQL))
        for name in ("classroom", "recordings", "training", "credits"):
            dump_sqlite(data / f"{name}.db", out / f"{name}.sql")
    await credits(PostgresDatabase(url, CREDITS_SCHEMA_SQL, namespace=NAMESPACE))
    dump_postgres(url, out / "credits.pg.sql")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
