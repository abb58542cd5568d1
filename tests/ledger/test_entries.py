"""Entries: drafts are validated, frozen and compared for idempotency; entries read through to their draft."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from classroom.errors import Conflict, ValidationError
from classroom.ledger.entries import (
    Detail,
    Entry,
    EntryDraft,
    EntryKind,
    IdempotencyConflict,
    entry_from_row,
    entry_row,
    format_at,
    format_credits,
    same_content,
    validate_at,
    validate_draft,
)
from tests.ledger.conftest import AT
from tests.support.ledger import earned


def draft(**changes: Any) -> EntryDraft:
    return dataclasses.replace(earned(1), **changes)


def reversal(**changes: Any) -> EntryDraft:
    base = EntryDraft("rev-1", EntryKind.REVERSAL, "SW-0001", "east", amount=-150, ref=1, author="t1", reason="typo")
    return dataclasses.replace(base, **changes)


VALID = {
    "earned": draft(),
    "earned with detail": draft(detail={"minutes": 45, "rate": 1.5, "late": False, "note": "ok", "x": None}),
    "recognised": EntryDraft("rec-1", EntryKind.RECOGNISED, "SW-0001", "west", amount=150, ref=1),
    "voided": EntryDraft("void-1", EntryKind.RECOGNITION_VOIDED, "SW-0001", "west", ref=1, author="a", reason="dup"),
    "reversal": reversal(),
    "level change": EntryDraft(
        "lvl-1", EntryKind.LEVEL_CHANGE, "SW-0001", "west", detail={"from": "tin", "to": "iron", "recognised": 1000}
    ),
    "kind given as text": draft(kind="earned"),
    "key of 200 characters": draft(key="k" * 200),
    "negative amount": draft(amount=-5),
}

INVALID = {
    "empty key": draft(key=""),
    "blank key": draft(key="   "),
    "key too long": draft(key="k" * 201),
    "empty student": draft(student=""),
    "empty school": draft(school=""),
    "unknown kind": draft(kind="bonus"),
    "amount is a float": draft(amount=1.5),
    "amount is a bool": draft(amount=True),
    "amount out of bounds": draft(amount=10**13),
    "ref zero": draft(ref=0),
    "NUL in student": draft(student="SW\x000001"),
    "lone surrogate in reason": draft(reason="\ud800"),
    "reason too long": draft(reason="r" * 2001),
    "reversal without reason": reversal(reason=""),
    "reversal without author": reversal(author=" "),
    "reversal without ref": reversal(ref=None),
    "recognised without ref": EntryDraft("rec-1", EntryKind.RECOGNISED, "SW-0001", "west", amount=150),
    "voided with an amount": EntryDraft("void-1", EntryKind.RECOGNITION_VOIDED, "SW-0001", "west", amount=5, ref=1),
    "detail value is a list": draft(detail={"minutes": [1, 2]}),
    "detail value is a mapping": draft(detail={"nested": {"a": 1}}),
    "detail value is infinite": draft(detail={"rate": float("inf")}),
    "detail key is a number": draft(detail={1: "one"}),
    "detail key is empty": draft(detail={"": "x"}),
    "detail is a list": draft(detail=["a"]),
    "detail has too many items": draft(detail={f"k{i}": i for i in range(33)}),
}


@pytest.mark.parametrize("name", VALID)
def test_valid_drafts_pass_validation(name: str) -> None:
    validate_draft(VALID[name])


@pytest.mark.parametrize("name", INVALID)
def test_invalid_drafts_raise_a_validation_error(name: str) -> None:
    with pytest.raises(ValidationError):
        validate_draft(INVALID[name])


def test_a_draft_is_frozen_hashable_and_its_detail_sorted() -> None:
    d = draft(detail={"b": 2, "a": 1})
    assert isinstance(d.detail, Detail) and list(d.detail) == ["a", "b"]
    assert hash(d) == hash(draft(detail={"a": 1, "b": 2}))
    assert d == draft(detail={"a": 1, "b": 2})
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.amount = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.detail["c"] = 3  # type: ignore[index]


def test_kind_given_as_text_becomes_the_enum() -> None:
    assert draft(kind="reversal").kind is EntryKind.REVERSAL


def entry_of(d: EntryDraft, seq: int = 1) -> Entry:
    return Entry(seq=seq, at=AT, draft=d, prev_hash="00" * 32, hash="ab" * 32)


STORED = draft(detail={"a": 2, "b": 1})

SAME_CONTENT = [
    ("identical", STORED, True),
    ("detail in another order", dataclasses.replace(STORED, detail={"b": 1, "a": 2}), True),
    ("other amount", dataclasses.replace(STORED, amount=151), False),
    ("other student", dataclasses.replace(STORED, student="SW-0002"), False),
    ("other school", dataclasses.replace(STORED, school="west"), False),
    ("other course", dataclasses.replace(STORED, course="painting"), False),
    ("other lesson", dataclasses.replace(STORED, lesson="L9"), False),
    ("other ref", dataclasses.replace(STORED, ref=3), False),
    ("other author", dataclasses.replace(STORED, author="x"), False),
    ("other reason", dataclasses.replace(STORED, reason="x"), False),
    ("other kind", dataclasses.replace(STORED, kind=EntryKind.LEVEL_CHANGE), False),
    ("other detail value", dataclasses.replace(STORED, detail={"a": 2, "b": 2}), False),
    ("true is not 1 in detail", dataclasses.replace(STORED, detail={"a": 2, "b": True}), False),
]


@pytest.mark.parametrize(("name", "candidate", "expected"), SAME_CONTENT, ids=[c[0] for c in SAME_CONTENT])
def test_same_content_compares_every_draft_field(name: str, candidate: EntryDraft, expected: bool) -> None:
    assert same_content(candidate, entry_of(STORED)) is expected


def test_an_entry_reads_through_to_its_draft_and_serialises_credits() -> None:
    entry = entry_of(draft(amount=-5, detail={"minutes": 45}), seq=7)
    assert (entry.kind, entry.amount, entry.student, entry.school, entry.key) == (
        EntryKind.EARNED,
        -5,
        "SW-0001",
        "east",
        "earned-1",
    )
    data = entry.to_json()
    assert data["credits"] == "-0.05" and data["amount"] == -5 and data["kind"] == "earned"
    assert data["detail"] == {"minutes": 45} and data["seq"] == 7 and data["hash"] == "ab" * 32


@pytest.mark.parametrize(
    ("amount", "text"), [(0, "0.00"), (1, "0.01"), (150, "1.50"), (100, "1.00"), (-150, "-1.50"), (123456, "1234.56")]
)
def test_credits_are_centi_credits_with_two_decimals(amount: int, text: str) -> None:
    assert format_credits(amount) == text


def test_a_row_round_trips_to_the_same_entry() -> None:
    entry = entry_of(draft(detail={"to": "iron", "from": "tin", "n": 1.25}), seq=3)
    row = entry_row(entry)
    assert row[12] == '{"from":"tin","n":1.25,"to":"iron"}'
    assert entry_from_row(row) == entry


def test_times_are_rfc3339_utc_with_microseconds() -> None:
    moment = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_at(moment) == "2026-11-24T10:00:00.123456Z"
    validate_at(format_at(datetime.now(UTC)))
    for bad in ("2026-11-24T10:00:00Z", "2026-11-24 10:00:00.000000Z", "yesterday"):
        with pytest.raises(ValidationError):
            validate_at(bad)
    with pytest.raises(ValueError):
        format_at(datetime(2026, 11, 24))


def test_an_idempotency_conflict_is_a_conflict() -> None:
    assert issubclass(IdempotencyConflict, Conflict)
