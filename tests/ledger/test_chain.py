"""The hash chain: canonical leaves, chaining, and verification that names the first problem by seq and kind.

These run on rows in memory; ``test_tamper.py`` does the same through real databases.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from classroom.ledger.chain import (
    GENESIS,
    Checkpoint,
    chain,
    draft_leaf,
    entry_hash,
    leaf_bytes,
    row_leaf,
)
from classroom.ledger.entries import EntryDraft, EntryKind, Scalar, entry_row
from classroom.ledger.verify import verify_entries, verify_rows
from tests.ledger.conftest import AT, chained_row
from tests.support.ledger import earned

Rows = list[list[Any]]


def test_the_leaf_is_canonical_json_of_every_field_in_a_fixed_order() -> None:
    d = EntryDraft("earned-1", EntryKind.EARNED, "SW-0001", "east", "welding", "L1", 150, detail={"z": 1, "ä": "ü"})
    expected = (
        '["classroom-ledger-entry/v1",1,"2026-11-24T10:00:00.000000Z","earned-1","earned","SW-0001","east",'
        '"welding","L1",150,null,"","",{"z":1,"ä":"ü"}]'
    )
    assert draft_leaf(1, AT, d) == expected.encode()
    assert (
        entry_hash(GENESIS, draft_leaf(1, AT, d)) == "9bd9c8c2b2161fc3581b8d0d5bde53c6c2782e270f35a06717b809fe4ab85abe"
    )


def test_the_leaf_does_not_depend_on_detail_order_and_the_row_form_agrees() -> None:
    one = EntryDraft("k", EntryKind.LEVEL_CHANGE, "s", "west", detail={"from": "tin", "to": "iron", "recognised": 1000})
    two = EntryDraft("k", EntryKind.LEVEL_CHANGE, "s", "west", detail={"recognised": 1000, "to": "iron", "from": "tin"})
    assert draft_leaf(4, AT, one) == draft_leaf(4, AT, two)
    [entry] = chain([one], 4, GENESIS, AT)
    assert row_leaf(entry_row(entry)) == draft_leaf(4, AT, one)
    detail: dict[str, Scalar] = {"to": "iron", "from": "tin", "recognised": 1000}
    by_fields = leaf_bytes(4, AT, "k", "level_change", "s", "west", "", "", 0, None, "", "", detail)
    assert by_fields == draft_leaf(4, AT, one)


CHANGES: list[dict[str, Any]] = [
    {"key": "earned-2"},
    {"kind": EntryKind.LEVEL_CHANGE},
    {"student": "other"},
    {"school": "other"},
    {"course": "other"},
    {"lesson": "other"},
    {"amount": 151},
    {"ref": 1},
    {"author": "a"},
    {"reason": "r"},
    {"detail": {"a": 1}},
]


def test_every_field_is_covered_by_the_leaf() -> None:
    base = earned(1)
    leaves = {draft_leaf(1, AT, dataclasses.replace(base, **change)) for change in CHANGES}
    leaves |= {draft_leaf(1, AT, base), draft_leaf(2, AT, base), draft_leaf(1, "2026-11-24T10:00:00.000001Z", base)}
    assert len(leaves) == len(CHANGES) + 3


def test_entry_hash_is_sha256_over_the_previous_hash_bytes_and_the_leaf() -> None:
    prev = "ab" * 32
    assert entry_hash(prev, b"leaf") == hashlib.sha256(bytes.fromhex(prev) + b"leaf").hexdigest()


def test_chained_entries_are_numbered_without_gaps_and_link_to_their_predecessor() -> None:
    entries = chain([earned(n) for n in range(1, 6)], 1, GENESIS, AT)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    continued = chain([earned(6)], 6, entries[-1].hash, AT)
    assert chain([earned(n) for n in range(1, 7)], 1, GENESIS, AT)[-1] == continued[0]


# --- verification --------------------------------------------------------------------------------


def ledger(n: int = 10) -> tuple[Rows, list[Checkpoint]]:
    """``n`` entries and one (unsigned) checkpoint per entry, as a store writing one entry per append makes."""
    entries = chain([earned(i, amount=100 + i) for i in range(1, n + 1)], 1, GENESIS, AT)
    checkpoints = [Checkpoint(e.seq, e.hash, e.at, "test", "sig") for e in entries]
    return [list(entry_row(e)) for e in entries], checkpoints


def rechain(rows: Rows, start: int) -> None:
    """Recompute every hash from seq ``start`` on, as a careful tamperer would."""
    prev = rows[start - 2][14] if start > 1 else GENESIS
    for row in rows[start - 1 :]:
        row[13], row[14] = prev, entry_hash(prev, row_leaf(tuple(row)) or b"")
        prev = row[14]


def change_amount(rows: Rows) -> None:
    rows[4][8] += 1000


def change_detail(rows: Rows) -> None:
    rows[4][12] = '{"minutes":45}'


def change_prev_hash(rows: Rows) -> None:
    rows[4][13] = "11" * 32


def rewrite_own_hash(rows: Rows) -> None:
    rows[4][8] += 1000
    rows[4][14] = entry_hash(rows[4][13], row_leaf(tuple(rows[4])) or b"")


def delete_middle(rows: Rows) -> None:
    del rows[4]


def delete_and_renumber(rows: Rows) -> None:
    del rows[4]
    for row in rows[4:]:
        row[0] -= 1


def delete_two_and_renumber(rows: Rows) -> None:
    del rows[4:6]
    for row in rows[4:]:
        row[0] -= 2


def delete_first_and_renumber(rows: Rows) -> None:
    del rows[0]
    for row in rows:
        row[0] -= 1


def insert_forged(rows: Rows) -> None:
    for row in rows[4:]:
        row[0] += 1
    rows.insert(4, chained_row(5, rows[3][14]))


def insert_two_forged(rows: Rows) -> None:
    for row in rows[4:]:
        row[0] += 2
    first = chained_row(5, rows[3][14], key="forged-1")
    rows[4:4] = [first, chained_row(6, first[14], key="forged-2")]


def duplicate_seq(rows: Rows) -> None:
    rows.insert(5, list(rows[4]))


def swap_rows(rows: Rows) -> None:
    rows[2][1:], rows[6][1:] = rows[6][1:], rows[2][1:]


def swap_adjacent_rows(rows: Rows) -> None:
    rows[2][1:], rows[3][1:] = rows[3][1:], rows[2][1:]


def swap_last_two_rows(rows: Rows) -> None:
    rows[8][1:], rows[9][1:] = rows[9][1:], rows[8][1:]


def swap_contents_keep_hashes(rows: Rows) -> None:
    rows[2][1:13], rows[6][1:13] = rows[6][1:13], rows[2][1:13]


def rewrite_and_rechain(rows: Rows) -> None:
    rows[5][8] = 1
    rechain(rows, 6)


def insert_and_rechain(rows: Rows) -> None:
    insert_forged(rows)
    rechain(rows, 5)


def truncate(rows: Rows) -> None:
    del rows[8:]


def append_forged(rows: Rows) -> None:
    rows.append(chained_row(11, rows[-1][14]))


TAMPERING: list[tuple[Callable[[Rows], None], int, str]] = [
    (change_amount, 5, "changed"),
    (change_detail, 5, "changed"),
    (change_prev_hash, 5, "changed"),
    (rewrite_own_hash, 5, "changed"),
    (delete_middle, 5, "deleted"),
    (delete_and_renumber, 5, "deleted"),
    (delete_two_and_renumber, 5, "deleted"),
    (delete_first_and_renumber, 1, "deleted"),
    (truncate, 9, "deleted"),
    (insert_forged, 5, "inserted"),
    (insert_two_forged, 5, "inserted"),
    (duplicate_seq, 5, "inserted"),
    (append_forged, 11, "inserted"),
    (swap_rows, 3, "reordered"),
    (swap_adjacent_rows, 3, "reordered"),
    (swap_last_two_rows, 9, "reordered"),
    (swap_contents_keep_hashes, 3, "reordered"),
    (rewrite_and_rechain, 6, "rewritten"),
    (insert_and_rechain, 5, "rewritten"),
]


def test_an_intact_ledger_verifies() -> None:
    rows, checkpoints = ledger()
    report = verify_rows([tuple(r) for r in rows], checkpoints, lambda cp: True)
    assert report.ok and report.problem is None
    assert (report.entries, report.checkpoints, report.head_seq, report.head_hash) == (10, 10, 10, rows[-1][14])
    assert report.signed_seq == 10


def test_an_empty_ledger_verifies() -> None:
    report = verify_rows([], [])
    assert report.ok and (report.entries, report.head_seq, report.head_hash) == (0, 0, GENESIS)


@pytest.mark.parametrize(("tamper", "seq", "kind"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING])
def test_tampering_is_reported_at_the_tampered_seq(tamper: Callable[[Rows], None], seq: int, kind: str) -> None:
    rows, checkpoints = ledger()
    tamper(rows)
    report = verify_rows([tuple(r) for r in rows], checkpoints, lambda cp: True)
    assert not report.ok and report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (seq, kind), report.problem.message
    assert report.entries == len(rows)


CHAIN_ONLY = [t for t in TAMPERING if t[2] not in ("rewritten",) and t[0] not in (truncate, append_forged)]


@pytest.mark.parametrize(("tamper", "seq", "kind"), CHAIN_ONLY, ids=[t[0].__name__ for t in CHAIN_ONLY])
def test_the_chain_alone_catches_tampering_without_checkpoints(
    tamper: Callable[[Rows], None], seq: int, kind: str
) -> None:
    rows, _ = ledger()
    tamper(rows)
    problem = verify_rows([tuple(r) for r in rows], []).problem
    assert problem is not None and (problem.seq, problem.kind) == (seq, kind), problem


def test_a_rewrite_is_located_to_the_first_failing_checkpoint_interval() -> None:
    rows, checkpoints = ledger()
    rewrite_and_rechain(rows)  # entry 6 rewritten; checkpoints only at 4 and 8
    sparse = [cp for cp in checkpoints if cp.seq in (4, 8, 10)]
    problem = verify_rows([tuple(r) for r in rows], sparse, lambda cp: True).problem
    assert problem is not None and (problem.seq, problem.kind) == (5, "rewritten")
    assert "5..8" in problem.message


def test_the_newest_checkpoints_forged_signature_is_reported() -> None:
    rows, checkpoints = ledger()
    problem = verify_rows([tuple(r) for r in rows], checkpoints, lambda cp: cp.seq != 10).problem
    assert problem is not None and (problem.seq, problem.kind) == (10, "bad_signature")


def test_every_signature_mode_reports_an_old_forged_signature() -> None:
    rows, checkpoints = ledger()
    check = lambda cp: cp.seq != 4  # noqa: E731
    assert verify_rows([tuple(r) for r in rows], checkpoints, check).ok  # the newest signature vouches for all
    problem = verify_rows([tuple(r) for r in rows], checkpoints, check, every_signature=True).problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "bad_signature")


def test_a_forged_checkpoint_that_disagrees_with_the_chain_is_a_bad_signature() -> None:
    rows, checkpoints = ledger()
    checkpoints[6] = Checkpoint(7, "cd" * 32, AT, "test", "forged")
    problem = verify_rows([tuple(r) for r in rows], checkpoints, lambda cp: cp.signature != "forged").problem
    assert problem is not None and (problem.seq, problem.kind) == (7, "bad_signature")


def test_checkpoints_are_compared_even_without_a_signature_check() -> None:
    rows, checkpoints = ledger()
    rewrite_and_rechain(rows)
    report = verify_rows([tuple(r) for r in rows], checkpoints)
    assert report.problem is not None and report.problem.kind == "rewritten" and report.signed_seq == 0


def test_verify_entries_and_verify_rows_agree() -> None:
    entries = chain([earned(i) for i in range(1, 6)], 1, GENESIS, AT)
    checkpoints = [Checkpoint(5, entries[-1].hash, AT, "test", "sig")]
    assert verify_entries(entries, checkpoints) == verify_rows(map(entry_row, entries), checkpoints)
    assert verify_entries(entries, checkpoints).ok
