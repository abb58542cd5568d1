"""The ledger store on SQLite and PostgreSQL: appends chain without gaps, are idempotent, serialise
across tasks and nodes, write signed checkpoints, and verify."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from classroom.errors import ValidationError
from classroom.ledger.chain import GENESIS
from classroom.ledger.entries import EntryDraft, EntryKind
from server.edge.database import Database, PostgresDatabase, SqliteDatabase, Tx
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import (
    LEDGER_SCHEMA,
    IdempotencyConflict,
    LedgerStore,
    append_in,
    checkpoints_in,
    entries_referring_in,
    head_in,
    sign_head_in,
)
from tests.ledger.conftest import AT, OpenDatabase, Tamper
from tests.support.databases import postgres_url
from tests.support.ledger import earned


async def new_store(open_db: OpenDatabase, signer: CheckpointSigner | None) -> tuple[Database, LedgerStore]:
    db = await open_db(LEDGER_SCHEMA)
    return db, LedgerStore(db, signer)


async def checkpoint_seq(store: LedgerStore) -> int:
    cp = await store.latest_checkpoint()
    return cp.seq if cp is not None else 0


async def test_appended_entries_are_numbered_without_gaps_and_chained(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    _, store = await new_store(open_db, signer)
    first = await store.append([earned(1), earned(2)])
    second = await store.append([earned(3)])
    entries = [a.entry for a in first + second]
    assert [a.created for a in first + second] == [True, True, True]
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS and entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    assert await store.head() == (3, entries[2].hash)
    assert await store.entry(2) == entries[1]
    assert await store.entry(4) is None


async def test_an_empty_ledger_has_the_genesis_head(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    assert await store.head() == (0, GENESIS)
    assert await store.latest_checkpoint() is None
    assert (await store.verify(None)).ok


async def test_the_same_key_with_the_same_content_returns_the_stored_entry(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    _, store = await new_store(open_db, signer)
    [original] = await store.append([earned(1)])
    [again] = await store.append([earned(1)])
    assert again == dataclasses.replace(original, created=False)
    assert await store.head() == (1, original.entry.hash)
    assert await store.latest_checkpoint() == signer.sign(1, original.entry.hash, original.entry.at)


async def test_a_replayed_batch_with_new_drafts_creates_only_the_new_ones(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    await store.append([earned(1), earned(2)])
    results = await store.append([earned(1), earned(3), earned(2)])
    assert [(a.entry.seq, a.created) for a in results] == [(1, False), (3, True), (2, False)]


async def test_the_same_key_with_different_content_is_a_conflict_and_appends_nothing(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    _, store = await new_store(open_db, signer)
    await store.append([earned(1)])
    head = await store.head()
    with pytest.raises(IdempotencyConflict, match="earned-1"):
        await store.append([earned(2), earned(1, amount=999), earned(3)])
    assert await store.head() == head
    assert [e.key for e in await store.for_student("SW-0001")] == ["earned-1"]
    assert await checkpoint_seq(store) == 1


async def test_a_conflict_within_one_batch_appends_nothing(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    with pytest.raises(IdempotencyConflict):
        await store.append([earned(1), earned(1, amount=1)])
    assert await store.head() == (0, GENESIS)


async def test_an_invalid_draft_appends_nothing(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    with pytest.raises(ValidationError):
        await store.append([earned(1), dataclasses.replace(earned(2), student="")])
    assert await store.head() == (0, GENESIS)


def reversal_of(seq: int, amount: int) -> EntryDraft:
    return EntryDraft(
        f"rev-{seq}", EntryKind.REVERSAL, "SW-0001", "east", amount=amount, ref=seq, author="t1", reason="typo"
    )


async def test_references_must_name_an_entry_and_a_reversal_negates_it(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    await store.append([earned(1, amount=150)])
    with pytest.raises(ValidationError, match="ref 5"):
        await store.append([reversal_of(5, -150)])
    with pytest.raises(ValidationError, match="amount -150"):
        await store.append([reversal_of(1, -100)])
    [reversed_] = await store.append([reversal_of(1, -150)])
    recognised = EntryDraft("rec-1", EntryKind.RECOGNISED, "SW-0001", "west", amount=150, ref=1)
    await store.append([recognised])
    assert reversed_.entry.seq == 2 and reversed_.entry.amount == -150
    assert [e.key for e in await store.referring(1)] == ["rev-1", "rec-1"]


async def test_a_batch_may_refer_to_an_entry_earlier_in_the_same_batch(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    results = await store.append([earned(1), reversal_of(1, -150)])
    assert [a.entry.ref for a in results] == [None, 1]


async def test_queries_by_student_school_and_page(open_db: OpenDatabase) -> None:
    _, store = await new_store(open_db, None)
    drafts = [earned(i, student=f"SW-{i % 2}", school="east" if i <= 4 else "west") for i in range(1, 8)]
    await store.append(drafts)
    assert [e.seq for e in await store.for_student("SW-1")] == [1, 3, 5, 7]
    assert [e.seq for e in await store.for_school("east")] == [1, 2, 3, 4]
    assert [e.seq for e in await store.for_school("west", limit=2)] == [5, 6]
    assert [e.seq for e in await store.for_school("west", limit=2, after_seq=6)] == [7]
    with pytest.raises(ValidationError):
        await store.for_school("west", limit=0)


async def test_append_in_joins_the_callers_transaction(open_db: OpenDatabase, signer: CheckpointSigner) -> None:
    db, store = await new_store(open_db, signer)

    def post_then_fail(tx: Tx) -> None:
        append_in(tx, [earned(1)], AT, signer)
        append_in(tx, [earned(2)], AT, signer)
        raise RuntimeError("the service changed its mind")

    with pytest.raises(RuntimeError):
        await db.transact(post_then_fail)
    assert await store.head() == (0, GENESIS) and await store.latest_checkpoint() is None

    def post_two(tx: Tx) -> list[int]:
        first = append_in(tx, [earned(1)], AT, signer)
        second = append_in(tx, [reversal_of(1, -150)], AT, signer)
        return [first[0].entry.seq, second[0].entry.seq, len(entries_referring_in(tx, 1)), head_in(tx)[0]]

    assert await db.transact(post_two) == [1, 2, 1, 2]
    assert (await store.verify(signer.verifier())).ok


async def test_every_append_writes_a_signed_checkpoint_of_its_head(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    _, store = await new_store(open_db, signer)
    await store.append([earned(1), earned(2)])
    await store.append([earned(1)])  # nothing new: no checkpoint
    cp = await store.latest_checkpoint()
    assert cp is not None and (cp.seq, cp.hash, cp.key_id) == (2, (await store.head())[1], signer.key_id)
    assert signer.verifier().check(cp)
    await store.append([earned(3)])
    assert await checkpoint_seq(store) == 3


async def test_a_transaction_of_several_unsigned_appends_signs_its_head_once_at_the_end(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    db, store = await new_store(open_db, signer)

    def post(tx: Tx) -> list[int]:
        append_in(tx, [earned(1)], AT, None)
        append_in(tx, [earned(2), earned(3)], AT, None)
        append_in(tx, [], AT, signer)
        append_in(tx, [], AT, signer)  # the head is signed already
        return [cp.seq for cp in checkpoints_in(tx, 0, 100, 100)]

    assert await db.transact(post) == [3]
    assert (await store.verify(signer.verifier(), every_signature=True)).ok
    assert await db.transact(sign_head_in, AT, signer) is None


async def test_an_unsigned_head_is_reported_until_the_next_signed_append(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    db, store = await new_store(open_db, signer)
    await store.append([earned(1)])
    await db.transact(append_in, [earned(2)], AT, None)
    problem = (await store.verify(signer.verifier())).problem
    assert problem is not None and (problem.seq, problem.kind) == (2, "inserted")
    await store.append([earned(3)])
    assert (await store.verify(signer.verifier())).ok


async def test_an_intact_ledger_verifies_in_small_chunks(open_db: OpenDatabase, signer: CheckpointSigner) -> None:
    _, store = await new_store(open_db, signer)
    for n in range(1, 11):
        await store.append([earned(n)])
    report = await store.verify(signer.verifier(), chunk=3)
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints, report.head_seq, report.signed_seq) == (10, 10, 10, 10)
    assert report.head_hash == (await store.head())[1]
    assert (await store.verify(signer.verifier(), every_signature=True, chunk=4)).ok


async def test_a_forged_checkpoint_signature_is_reported(
    open_db: OpenDatabase, signer: CheckpointSigner, tmp_path: Path
) -> None:
    db, store = await new_store(open_db, signer)
    for n in range(1, 5):
        await store.append([earned(n)])
    forger = CheckpointSigner.load_or_create(tmp_path / "forger")
    forged = forger.sign(4, (await store.head())[1], AT)
    Tamper(db).execute(("UPDATE ledger_checkpoints SET signature = ? WHERE seq = 4", (forged.signature,)))
    problem = (await store.verify(signer.verifier())).problem
    assert problem is not None and (problem.seq, problem.kind) == (4, "bad_signature")


async def test_concurrent_appends_keep_one_unbroken_chain(open_db: OpenDatabase, signer: CheckpointSigner) -> None:
    _, store = await new_store(open_db, signer)

    async def writer(w: int) -> None:
        for n in range(10):
            await store.append([earned(w * 100 + n), earned(w * 100 + n + 50)])

    await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(4))), timeout=60)
    report = await store.verify(signer.verifier(), every_signature=True)
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints) == (80, 40)


async def second_node(db: Database) -> Database:
    """Another Database on the same data, as a second server node would open it."""
    if isinstance(db, SqliteDatabase):
        other: Database = SqliteDatabase(db.path, LEDGER_SCHEMA, name="node-2")
    else:
        assert isinstance(db, PostgresDatabase)
        other = PostgresDatabase(postgres_url(), LEDGER_SCHEMA, namespace=db.namespace, name="node-2")
    await other.open()
    return other


async def test_two_nodes_appending_at_once_keep_one_unbroken_chain(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    db, store = await new_store(open_db, signer)
    other_db = await second_node(db)
    try:
        stores = [store, LedgerStore(other_db, signer)]

        async def writer(node: int) -> None:
            for n in range(25):
                await stores[node].append([earned(node * 1000 + n)])

        await asyncio.wait_for(asyncio.gather(writer(0), writer(1)), timeout=60)
    finally:
        await other_db.close()
    report = await store.verify(signer.verifier(), every_signature=True)
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints) == (50, 50)
    seqs = [e.seq for e in await store.for_school("east", limit=100)]
    assert seqs == list(range(1, 51))


async def test_appends_survive_closing_and_reopening_the_database(
    open_db: OpenDatabase, signer: CheckpointSigner
) -> None:
    db, store = await new_store(open_db, signer)
    await store.append([earned(1), earned(2)])
    head = await store.head()
    reopened = await second_node(db)
    await db.close()
    try:
        again = LedgerStore(reopened, signer)
        assert await again.head() == head
        assert (await again.verify(signer.verifier())).ok
    finally:
        await reopened.close()
