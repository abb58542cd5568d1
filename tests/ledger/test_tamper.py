"""Tampering with the database behind the store's back is caught and named by seq and kind.

Each test builds a ten-entry ledger (one append, hence one signed checkpoint, per entry), then edits
the tables through a separate connection (``sqlite3`` on the file, ``psycopg`` on the schema).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from classroom.ledger.chain import entry_hash, row_leaf
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import LEDGER_SCHEMA, LedgerStore
from tests.ledger.conftest import OpenDatabase, Tamper, chained_row
from tests.support.ledger import earned


def change_amount(t: Tamper) -> None:
    t.execute("UPDATE ledger_entries SET amount = amount + 1000 WHERE seq = 5")


def change_student(t: Tamper) -> None:
    t.execute("UPDATE ledger_entries SET student = 'SW-0666' WHERE seq = 5")


def delete_middle_row(t: Tamper) -> None:
    t.execute("DELETE FROM ledger_entries WHERE seq = 5")


def delete_and_renumber(t: Tamper) -> None:
    t.execute(
        "DELETE FROM ledger_entries WHERE seq = 5",
        "UPDATE ledger_entries SET seq = -seq WHERE seq > 5",
        "UPDATE ledger_entries SET seq = -seq - 1 WHERE seq < 0",
    )


def insert_forged_row(t: Tamper) -> None:
    prev = t.rows()[3][14]  # entry 4's hash: the forged row chains correctly after it
    t.execute(
        "UPDATE ledger_entries SET seq = -seq WHERE seq >= 5",
        "UPDATE ledger_entries SET seq = -seq + 1 WHERE seq < 0",
    )
    t.insert(chained_row(5, prev))


def append_forged_row(t: Tamper) -> None:
    t.insert(chained_row(11, t.rows()[-1][14]))


def swap_two_rows(t: Tamper) -> None:
    t.execute(
        "UPDATE ledger_entries SET seq = -1 WHERE seq = 3",
        "UPDATE ledger_entries SET seq = 3 WHERE seq = 7",
        "UPDATE ledger_entries SET seq = 7 WHERE seq = -1",
    )


def rewrite_and_recompute_later_hashes(t: Tamper) -> None:
    rows = t.rows()
    rows[5][8] = 1  # entry 6's amount
    prev = rows[4][14]
    sql = "UPDATE ledger_entries SET amount = ?, prev_hash = ?, hash = ? WHERE seq = ?"
    updates = []
    for row in rows[5:]:
        row[13], row[14] = prev, entry_hash(prev, row_leaf(tuple(row)) or b"")
        prev = row[14]
        updates.append((sql, (row[8], row[13], row[14], row[0])))
    t.execute(*updates)


def truncate_the_tail(t: Tamper) -> None:
    t.execute("DELETE FROM ledger_entries WHERE seq > 8")


def forge_the_newest_checkpoint(t: Tamper) -> None:
    t.execute(("UPDATE ledger_checkpoints SET hash = ? WHERE seq = 10", ("ee" * 32,)))


TAMPERING: list[tuple[Callable[[Tamper], None], int, str]] = [
    (change_amount, 5, "changed"),
    (change_student, 5, "changed"),
    (delete_middle_row, 5, "deleted"),
    (delete_and_renumber, 5, "deleted"),
    (truncate_the_tail, 9, "deleted"),
    (insert_forged_row, 5, "inserted"),
    (append_forged_row, 11, "inserted"),
    (swap_two_rows, 3, "reordered"),
    (rewrite_and_recompute_later_hashes, 6, "rewritten"),
    (forge_the_newest_checkpoint, 10, "bad_signature"),
]


@pytest.mark.parametrize(("tamper", "seq", "kind"), TAMPERING, ids=[t[0].__name__ for t in TAMPERING])
async def test_tampering_with_the_database_is_reported_at_its_seq(
    open_db: OpenDatabase, signer: CheckpointSigner, tamper: Callable[[Tamper], None], seq: int, kind: str
) -> None:
    db = await open_db(LEDGER_SCHEMA)
    store = LedgerStore(db, signer)
    for n in range(1, 11):
        await store.append([earned(n, student=f"SW-{n % 3}", amount=100 + n)])
    assert (await store.verify(signer.verifier())).ok
    tamper(Tamper(db))
    report = await store.verify(signer.verifier(), chunk=4)
    assert not report.ok and report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (seq, kind), report.problem.message
    assert f"{seq}" in report.problem.message
