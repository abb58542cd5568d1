"""The credit bank's own tables, one contract on SQLite and on PostgreSQL: the recognition index (its
status read from the ledger entries that refer to it), the lessons already posted, and the recognition
rules (append-only; the newest row per key is in force)."""

from __future__ import annotations

from classroom.ledger.entries import EntryDraft, EntryKind
from classroom.recognition import RecognitionRule, RecognitionStatus
from server.credits.tables import (
    CREDITS_SCHEMA,
    Recognition,
    add_recognition_in,
    add_rule_in,
    mark_posted_in,
    posted_lessons_in,
    recognition_in,
    recognitions_in,
    rule_in,
    rules_in,
)
from server.edge.database import Database, Tx
from server.ledger.store import LEDGER_SCHEMA, append_in
from tests.support.databases import OpenDatabase
from tests.support.ledger import earned

AT = "2026-12-02T10:00:00.000000Z"


async def bank(open_db: OpenDatabase) -> Database:
    return await open_db((LEDGER_SCHEMA, CREDITS_SCHEMA))


def recognition(seq: int, *, home: str = "west", teaching: str = "east") -> Recognition:
    return Recognition(earned_seq=seq, student="SW-0001", home_school=home, lesson_school=teaching,
                       course="welding", lesson=f"L{seq}", amount=150, at=AT,
                       status=RecognitionStatus.PENDING, decided_by=None)


def earn_and_index(tx: Tx, n: int, *, home: str = "west", teaching: str = "east") -> int:
    [appended] = append_in(tx, [earned(n, school=teaching)], AT, None)
    add_recognition_in(tx, recognition(appended.entry.seq, home=home, teaching=teaching))
    return appended.entry.seq


def decide(kind: EntryKind, ref: int, n: int, amount: int = 0) -> EntryDraft:
    return EntryDraft(key=f"{kind.value}-{n}", kind=kind, student="SW-0001", school="west", course="welding",
                      ref=ref, amount=amount, author="admin-w", reason="test")


async def test_an_indexed_recognition_is_pending_until_an_entry_decides_it(open_db: OpenDatabase) -> None:
    db = await bank(open_db)
    seq = await db.transact(earn_and_index, 1)
    found = await db.read(recognition_in, seq)
    assert found == recognition(seq)
    assert await db.read(recognition_in, seq + 100) is None


async def test_posting_voiding_and_reversing_show_in_the_status(open_db: OpenDatabase) -> None:
    db = await bank(open_db)
    posted, voided, reversed_ = [await db.transact(earn_and_index, n) for n in (1, 2, 3)]

    def decide_all(tx: Tx) -> tuple[int, int, int]:
        [rec] = append_in(tx, [decide(EntryKind.RECOGNISED, posted, 1, 150)], AT, None)
        [void] = append_in(tx, [decide(EntryKind.RECOGNITION_VOIDED, voided, 2)], AT, None)
        [rec3] = append_in(tx, [decide(EntryKind.RECOGNISED, reversed_, 3, 150)], AT, None)
        append_in(tx, [decide(EntryKind.REVERSAL, rec3.entry.seq, 4, -150)], AT, None)
        return rec.entry.seq, void.entry.seq, rec3.entry.seq

    rec, void, rec3 = await db.transact(decide_all)
    statuses = {r.earned_seq: (r.status, r.decided_by) for r in await db.read(recognitions_in, "west", None, 10, 0)}
    assert statuses == {posted: (RecognitionStatus.POSTED, rec), voided: (RecognitionStatus.VOIDED, void),
                        reversed_: (RecognitionStatus.REVERSED, rec3)}


async def test_recognitions_are_listed_for_home_and_teaching_school_with_filter_and_paging(
    open_db: OpenDatabase
) -> None:
    db = await bank(open_db)
    seqs = [await db.transact(earn_and_index, n) for n in range(1, 6)]
    other = await db.transact(lambda tx: earn_and_index(tx, 9, home="south", teaching="north"))

    def listed(school: str, status: RecognitionStatus | None, limit: int, after: int) -> list[int]:
        return [r.earned_seq for r in rows[(school, status, limit, after)]]

    rows = {}
    for key in [("west", None, 10, 0), ("east", None, 10, 0), ("west", None, 2, seqs[1]), ("north", None, 10, 0),
                ("nowhere", None, 10, 0), ("west", RecognitionStatus.POSTED, 10, 0)]:
        rows[key] = await db.read(recognitions_in, *key)
    assert listed("west", None, 10, 0) == seqs
    assert listed("east", None, 10, 0) == seqs
    assert listed("west", None, 2, seqs[1]) == seqs[2:4]
    assert listed("north", None, 10, 0) == [other]
    assert listed("nowhere", None, 10, 0) == []
    assert listed("west", RecognitionStatus.POSTED, 10, 0) == []


async def test_the_same_earned_entry_is_indexed_once(open_db: OpenDatabase) -> None:
    db = await bank(open_db)
    seq = await db.transact(earn_and_index, 1)
    await db.transact(add_recognition_in, recognition(seq))
    assert [r.earned_seq for r in await db.read(recognitions_in, "west", None, 10, 0)] == [seq]


async def test_posted_lessons_are_remembered_once_and_found_in_large_batches(open_db: OpenDatabase) -> None:
    db = await bank(open_db)
    await db.transact(mark_posted_in, "L7", "default", AT)
    await db.transact(mark_posted_in, "L7", "other", AT)  # already posted: kept as first written
    lessons = [f"L{n}" for n in range(1200)]  # more than one chunk of 500
    assert await db.read(posted_lessons_in, lessons) == {"L7"}
    assert await db.read(posted_lessons_in, []) == set()


async def test_the_newest_rule_is_in_force_and_rules_are_listed_per_key(open_db: OpenDatabase) -> None:
    db = await bank(open_db)
    old = RecognitionRule("west", "east", "welding", "W-101", 100)
    new = RecognitionRule("west", "east", "welding", "W-102", 80)
    cnc = RecognitionRule("west", "east", "cnc", "C-1", 50)
    elsewhere = RecognitionRule("south", "east", "welding", "S-1", 100)
    for n, rule in enumerate([old, cnc, new, elsewhere]):
        await db.transact(add_rule_in, rule, "admin-w", float(n))
    assert await db.read(rule_in, "west", "east", "welding") == new
    assert await db.read(rule_in, "west", "north", "welding") is None
    assert await db.read(rules_in, "west") == [cnc, new]
    assert await db.read(rules_in, "nowhere") == []
