"""Admins' corrections to attendance: status overrides and excuses, appended and never edited.

An override or an excuse is a new row with its reason, author and time; the attendance of a
lesson is always recomputed from the presence events plus these rows, so the history of every
correction stays readable (who changed what, when and why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from classroom.attendance import Excuse, Override, Status
from classroom.errors import Conflict
from server.edge.database import Tx
from server.edge.migrations import Migrations

__all__ = [
    "ATTENDANCE_SCHEMA",
    "ExcuseRecord",
    "OverrideRecord",
    "add_excuse_in",
    "add_override_in",
    "corrections_count_in",
    "excuses_in",
    "overrides_in",
]

_ATTENDANCE_V1 = """
CREATE TABLE IF NOT EXISTS attendance_overrides (
    id {serial},
    key TEXT NOT NULL,
    lesson TEXT NOT NULL,
    student TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    author_school TEXT NOT NULL,
    at {real} NOT NULL,
    UNIQUE (lesson, key)
);
CREATE INDEX IF NOT EXISTS attendance_overrides_by_lesson ON attendance_overrides (lesson, id);
CREATE TABLE IF NOT EXISTS attendance_excuses (
    id {serial},
    key TEXT NOT NULL,
    lesson TEXT NOT NULL,
    student TEXT NOT NULL,
    classroom TEXT NOT NULL,
    starts {real},
    ends {real},
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    author_school TEXT NOT NULL,
    at {real} NOT NULL,
    UNIQUE (lesson, key)
);
CREATE INDEX IF NOT EXISTS attendance_excuses_by_lesson ON attendance_excuses (lesson, id);
"""
ATTENDANCE_SCHEMA = Migrations("attendance", (_ATTENDANCE_V1,))
"""The attendance tables, as versioned migrations (version 1: the tables as they were before migrations)."""


@dataclass(frozen=True)
class OverrideRecord:
    id: int
    key: str
    lesson: str
    override: Override
    author_school: str

    def to_json(self) -> dict[str, Any]:
        o = self.override
        return {"id": self.id, "lesson": self.lesson, "student": o.student, "status": o.status.value,
                "reason": o.reason, "author": o.author, "author_school": self.author_school, "at": o.at}


@dataclass(frozen=True)
class ExcuseRecord:
    id: int
    key: str
    lesson: str
    excuse: Excuse
    author: str
    author_school: str
    at: float

    def to_json(self) -> dict[str, Any]:
        e = self.excuse
        return {"id": self.id, "lesson": self.lesson, "student": e.student or None, "classroom": e.classroom or None,
                "start": e.start, "end": e.end, "reason": e.reason, "author": self.author,
                "author_school": self.author_school, "at": self.at}


_OVERRIDE_COLUMNS = "id, key, lesson, student, status, reason, author, author_school, at"
_EXCUSE_COLUMNS = "id, key, lesson, student, classroom, starts, ends, reason, author, author_school, at"


def _override(row: tuple[Any, ...]) -> OverrideRecord:
    override = Override(student=row[3], status=Status(row[4]), reason=row[5], author=row[6], at=float(row[8]))
    return OverrideRecord(id=int(row[0]), key=row[1], lesson=row[2], override=override, author_school=row[7])


def _excuse(row: tuple[Any, ...]) -> ExcuseRecord:
    excuse = Excuse(reason=row[7], student=row[3], classroom=row[4], start=row[5], end=row[6])
    return ExcuseRecord(id=int(row[0]), key=row[1], lesson=row[2], excuse=excuse, author=row[8],
                        author_school=row[9], at=float(row[10]))


def corrections_count_in(tx: Tx, lesson: str) -> int:
    """The number of overrides and excuses of ``lesson`` (they only ever grow)."""
    row = tx.one("SELECT (SELECT COUNT(*) FROM attendance_overrides WHERE lesson = ?) + "
                 "(SELECT COUNT(*) FROM attendance_excuses WHERE lesson = ?)", (lesson, lesson))
    return int(row[0]) if row else 0


def overrides_in(tx: Tx, lesson: str) -> list[OverrideRecord]:
    rows = tx.all(f"SELECT {_OVERRIDE_COLUMNS} FROM attendance_overrides WHERE lesson = ? ORDER BY id", (lesson,))
    return [_override(row) for row in rows]


def excuses_in(tx: Tx, lesson: str) -> list[ExcuseRecord]:
    rows = tx.all(f"SELECT {_EXCUSE_COLUMNS} FROM attendance_excuses WHERE lesson = ? ORDER BY id", (lesson,))
    return [_excuse(row) for row in rows]


def add_override_in(tx: Tx, key: str, lesson: str, override: Override, author_school: str) -> tuple[OverrideRecord,
                                                                                                      bool]:
    """Append an override; ``(record, created)``; a key reused for the same override is not an error."""
    found = tx.one(f"SELECT {_OVERRIDE_COLUMNS} FROM attendance_overrides WHERE lesson = ? AND key = ?", (lesson, key))
    if found is not None:
        record = _override(found)
        same = (record.lesson, record.override.student, record.override.status, record.override.reason) == (
            lesson, override.student, override.status, override.reason)
        if not same:
            raise Conflict(f"idempotency key {key!r} was used for a different override")
        return record, False
    o = override
    tx.execute("INSERT INTO attendance_overrides (key, lesson, student, status, reason, author, author_school, at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (lesson, key) DO NOTHING",
               (key, lesson, o.student, o.status.value, o.reason, o.author, author_school, o.at))
    row = tx.one(f"SELECT {_OVERRIDE_COLUMNS} FROM attendance_overrides WHERE lesson = ? AND key = ?", (lesson, key))
    assert row is not None
    return _override(row), True


def add_excuse_in(tx: Tx, key: str, lesson: str, excuse: Excuse, author: str, author_school: str,
                  at: float) -> tuple[ExcuseRecord, bool]:
    """Append an excuse; ``(record, created)``."""
    found = tx.one(f"SELECT {_EXCUSE_COLUMNS} FROM attendance_excuses WHERE lesson = ? AND key = ?", (lesson, key))
    if found is not None:
        record = _excuse(found)
        if (record.lesson, record.excuse) != (lesson, excuse):
            raise Conflict(f"idempotency key {key!r} was used for a different excuse")
        return record, False
    e = excuse
    tx.execute("INSERT INTO attendance_excuses (key, lesson, student, classroom, starts, ends, reason, author, "
               "author_school, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (lesson, key) DO NOTHING",
               (key, lesson, e.student, e.classroom, e.start, e.end, e.reason, author, author_school, at))
    row = tx.one(f"SELECT {_EXCUSE_COLUMNS} FROM attendance_excuses WHERE lesson = ? AND key = ?", (lesson, key))
    assert row is not None
    return _excuse(row), True
