"""Tables beside the ledger: the recognition index and the recognition rules.

``recognitions`` is an index, not a source of truth: one row per EARNED entry of a student whose
home school is not the teaching school, written in the same transaction as the entry, so a home
school finds its pending credits without scanning the ledger. Whether a recognition is pending,
posted, voided or reversed is read from the ledger entries that refer to it.

``lesson_postings`` remembers which ended lessons were posted, so a server that stopped between
a lesson's end and its posting posts it when it starts again.

``recognition_rules`` is append-only too: the newest row for (home school, teaching school,
course) is the rule in force, older rows are its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from classroom.ledger import EntryKind
from classroom.levels import format_credits
from classroom.recognition import RecognitionRule, RecognitionStatus
from server.edge.database import Tx
from server.edge.migrations import Migrations
from server.ledger.store import references_in

__all__ = [
    "CREDITS_SCHEMA",
    "Recognition",
    "add_recognition_in",
    "add_rule_in",
    "mark_posted_in",
    "posted_lessons_in",
    "recognition_in",
    "recognitions_in",
    "rule_in",
    "rules_in",
]

_CREDITS_V1 = """
CREATE TABLE IF NOT EXISTS recognitions (
    earned_seq INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    home_school TEXT NOT NULL,
    lesson_school TEXT NOT NULL,
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    amount INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recognitions_by_home ON recognitions (home_school, earned_seq);
CREATE INDEX IF NOT EXISTS recognitions_by_lesson_school ON recognitions (lesson_school, earned_seq);
CREATE TABLE IF NOT EXISTS recognition_rules (
    id {serial},
    home_school TEXT NOT NULL,
    lesson_school TEXT NOT NULL,
    course TEXT NOT NULL,
    home_course TEXT NOT NULL,
    factor_pct INTEGER NOT NULL,
    author TEXT NOT NULL,
    at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS recognition_rules_by_key ON recognition_rules (home_school, lesson_school, course, id);
CREATE TABLE IF NOT EXISTS lesson_postings (
    lesson TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
CREDITS_SCHEMA = Migrations("credits", (_CREDITS_V1,))
"""The credits tables, as versioned migrations (version 1: the tables as they were before migrations)."""

_STATUS_BY_RANK = {0: RecognitionStatus.PENDING, 1: RecognitionStatus.VOIDED, 2: RecognitionStatus.POSTED,
                   3: RecognitionStatus.REVERSED}
_RANK = {EntryKind.REVERSAL.value: 3, EntryKind.RECOGNISED.value: 2, EntryKind.RECOGNITION_VOIDED.value: 1}


@dataclass(frozen=True)
class Recognition:
    earned_seq: int
    student: str
    home_school: str
    lesson_school: str
    course: str
    lesson: str
    amount: int
    at: str
    status: RecognitionStatus
    decided_by: int | None
    """seq of the entry that decided it (recognised, voided or the reversal), if any"""

    def to_json(self) -> dict[str, Any]:
        return {"earned_seq": self.earned_seq, "student": self.student, "home_school": self.home_school,
                "lesson_school": self.lesson_school, "course": self.course, "lesson": self.lesson,
                "credits": format_credits(self.amount), "at": self.at, "status": self.status.value,
                "decided_by": self.decided_by}


_SELECT = ("SELECT r.earned_seq, r.student, r.home_school, r.lesson_school, r.course, r.lesson, r.amount, r.at "
           "FROM recognitions r")

Decision = tuple[RecognitionStatus, int | None]


def _decisions_in(tx: Tx, earned: Sequence[int]) -> dict[int, Decision]:
    """Per earned seq, read from the ledger's entries referring to it: a recognition is reversed if its
    earned entry or its recognised entry was; else posted or voided by the entry deciding it (the oldest
    entry referring to the earned one)."""
    referring: dict[int, list[tuple[int, str]]] = {seq: [] for seq in earned}
    for seq, kind, ref in references_in(tx, earned):
        referring[ref].append((seq, kind))
    recognised = [seq for entries in referring.values() for seq, kind in entries if kind == EntryKind.RECOGNISED]
    undone = {ref for _seq, kind, ref in references_in(tx, recognised) if kind == EntryKind.REVERSAL}
    decisions: dict[int, Decision] = {}
    for seq, entries in referring.items():
        rank = max((_RANK.get(kind, 0) for _seq, kind in entries), default=0)
        status = RecognitionStatus.REVERSED if any(s in undone for s, _kind in entries) else _STATUS_BY_RANK[rank]
        decisions[seq] = (status, min((s for s, _kind in entries), default=None))
    return decisions


def _recognitions_in(tx: Tx, rows: Sequence[tuple[Any, ...]]) -> list[Recognition]:
    decisions = _decisions_in(tx, [int(row[0]) for row in rows])
    return [Recognition(earned_seq=int(row[0]), student=row[1], home_school=row[2], lesson_school=row[3],
                        course=row[4], lesson=row[5], amount=int(row[6]), at=row[7],
                        status=decisions[int(row[0])][0], decided_by=decisions[int(row[0])][1]) for row in rows]


def add_recognition_in(tx: Tx, recognition: Recognition) -> None:
    r = recognition
    tx.execute("INSERT INTO recognitions (earned_seq, student, home_school, lesson_school, course, lesson, amount, "
               "at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (earned_seq) DO NOTHING",
               (r.earned_seq, r.student, r.home_school, r.lesson_school, r.course, r.lesson, r.amount, r.at))


def recognition_in(tx: Tx, earned_seq: int) -> Recognition | None:
    row = tx.one(f"{_SELECT} WHERE r.earned_seq = ?", (earned_seq,))
    return None if row is None else _recognitions_in(tx, [row])[0]


def recognitions_in(tx: Tx, school: str, status: RecognitionStatus | None, limit: int,
                    after_seq: int) -> list[Recognition]:
    """Recognitions where ``school`` is the home or the teaching school, oldest first."""
    rows = tx.all(f"{_SELECT} WHERE (r.home_school = ? OR r.lesson_school = ?) AND r.earned_seq > ? "
                  "ORDER BY r.earned_seq", (school, school, after_seq))
    found = _recognitions_in(tx, rows)
    return [r for r in found if status is None or r.status is status][:limit]


def mark_posted_in(tx: Tx, lesson: str, policy: str, at: str) -> None:
    """Remember that ``lesson`` was posted (in the posting's own transaction)."""
    tx.execute("INSERT INTO lesson_postings (lesson, policy, at) VALUES (?, ?, ?) ON CONFLICT (lesson) DO NOTHING",
               (lesson, policy, at))


def posted_lessons_in(tx: Tx, lessons: Sequence[str]) -> set[str]:
    """Which of ``lessons`` were posted."""
    found: set[str] = set()
    for start in range(0, len(lessons), 500):
        chunk = list(lessons[start:start + 500])
        marks = ", ".join("?" * len(chunk))
        found |= {row[0] for row in tx.all(f"SELECT lesson FROM lesson_postings WHERE lesson IN ({marks})", chunk)}
    return found


def add_rule_in(tx: Tx, rule: RecognitionRule, author: str, at: float) -> None:
    tx.execute("INSERT INTO recognition_rules (home_school, lesson_school, course, home_course, factor_pct, author, "
               "at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (rule.home_school, rule.lesson_school, rule.course, rule.home_course, rule.factor_pct, author, at))


def rule_in(tx: Tx, home_school: str, lesson_school: str, course: str) -> RecognitionRule | None:
    row = tx.one("SELECT home_school, lesson_school, course, home_course, factor_pct FROM recognition_rules "
                 "WHERE home_school = ? AND lesson_school = ? AND course = ? ORDER BY id DESC LIMIT 1",
                 (home_school, lesson_school, course))
    return None if row is None else RecognitionRule(row[0], row[1], row[2], row[3], int(row[4]))


def rules_in(tx: Tx, home_school: str) -> list[RecognitionRule]:
    """The rules in force of ``home_school`` (newest row per teaching school and course)."""
    rows = tx.all("SELECT home_school, lesson_school, course, home_course, factor_pct FROM recognition_rules "
                  "WHERE home_school = ? ORDER BY id", (home_school,))
    latest = {(row[1], row[2]): RecognitionRule(row[0], row[1], row[2], row[3], int(row[4])) for row in rows}
    return [latest[key] for key in sorted(latest)]
