"""The credit ledger on the Database port: one implementation for SQLite and PostgreSQL.

Entries are only ever inserted, with the next seq and the chained hash (``classroom.ledger.chain``).
Writers are serialised on the head: SQLite transactions are already ``BEGIN IMMEDIATE``; on
PostgreSQL ``append_in`` takes ``LOCK TABLE ledger_entries IN EXCLUSIVE MODE`` (plain reads still
run), so two nodes appending at once keep one unbroken chain.

Given a signer, ``append_in`` ends by signing the head unless it is signed already: one checkpoint
per call that appended, and ``append_in(tx, [], at, signer)`` after several signer-less calls in one
transaction signs their common head once. Verification reports entries after the newest checkpoint
as ``inserted``, so every transaction that appends must end with a signer-given call.

The ``*_in`` functions run inside a caller's transaction (``await db.transact(append_in, ...)``) so a
service can post several related entries atomically; :class:`LedgerStore` wraps them for callers
that need one transaction each. ``append`` has committed (fsynced) when it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from classroom.errors import ValidationError
from classroom.ledger.chain import GENESIS, Checkpoint, chain
from classroom.ledger.entries import (
    ROW_FIELDS,
    Entry,
    EntryDraft,
    EntryKind,
    EntryRow,
    IdempotencyConflict,
    entry_from_row,
    entry_row,
    format_at,
    same_content,
    validate_at,
    validate_draft,
)
from classroom.ledger.verify import VerifyReport, verify_rows
from server.edge.database import Database, Tx
from server.edge.migrations import Migrations
from server.ledger.checkpoints import CheckpointSigner, CheckpointVerifier

__all__ = [
    "CREDITS_DB_FILE",
    "LEDGER_NAMESPACE",
    "LEDGER_SCHEMA",
    "MAX_PAGE",
    "Appended",
    "IdempotencyConflict",
    "LedgerStore",
    "append_in",
    "checkpoints_in",
    "entries_for_school_in",
    "entries_for_student_in",
    "entries_referring_in",
    "entry_in",
    "head_in",
    "lock_head_in",
    "latest_checkpoint_in",
    "references_in",
    "rows_in",
    "sign_head_in",
]

CREDITS_DB_FILE = "credits.db"  # the SQLite credit database inside DATA_DIR
LEDGER_NAMESPACE = "classroom"  # the PostgreSQL schema holding the credit tables
MAX_PAGE = 1000
VERIFY_CHUNK = 10_000

_LEDGER_V1 = """
CREATE TABLE IF NOT EXISTS ledger_entries (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    student TEXT NOT NULL,
    school TEXT NOT NULL,
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    amount BIGINT NOT NULL,
    ref INTEGER,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_entries_student ON ledger_entries (student, seq);
CREATE INDEX IF NOT EXISTS ledger_entries_school ON ledger_entries (school, seq);
CREATE INDEX IF NOT EXISTS ledger_entries_ref ON ledger_entries (ref);
CREATE TABLE IF NOT EXISTS ledger_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""
LEDGER_SCHEMA = Migrations("ledger", (_LEDGER_V1,))
"""The ledger tables, as versioned migrations (version 1: the tables as they were before migrations)."""

_COLUMNS = ", ".join(ROW_FIELDS)
_SELECT = f"SELECT {_COLUMNS} FROM ledger_entries"
_INSERT = f"INSERT INTO ledger_entries ({_COLUMNS}) VALUES ({', '.join('?' for _ in ROW_FIELDS)})"
_CHECKPOINT_COLUMNS = "seq, hash, at, key_id, signature"
_HEAD_LOCKS = {"postgresql": "LOCK TABLE ledger_entries IN EXCLUSIVE MODE"}  # SQLite: BEGIN IMMEDIATE
_LOWEST_SEQ = -(2**31)  # verification also reads rows a tamperer numbered below 1


@dataclass(frozen=True)
class Appended:
    """One draft's outcome: the entry, and whether this call created it (False: it existed)."""

    entry: Entry
    created: bool


# --- transaction-level functions -----------------------------------------------------------------


def append_in(tx: Tx, drafts: Sequence[EntryDraft], at: str, signer: CheckpointSigner | None) -> list[Appended]:
    """Append the drafts at time ``at`` in the caller's transaction; with a signer, then sign the head.

    Raises ValidationError for a malformed draft and IdempotencyConflict for a key reused with
    different content; either way the caller's transaction must roll back (``transact`` does).
    On PostgreSQL the head stays locked until the caller's transaction ends.
    """
    validate_at(at)
    for draft in drafts:
        validate_draft(draft)
    lock_head_in(tx)
    head = head_in(tx)
    results: list[Appended] = []
    for draft in drafts:
        appended = _append_one(tx, draft, at, head)
        if appended.created:
            head = (appended.entry.seq, appended.entry.hash)
        results.append(appended)
    if signer is not None:
        sign_head_in(tx, at, signer)
    return results


def sign_head_in(tx: Tx, at: str, signer: CheckpointSigner) -> Checkpoint | None:
    """Write a signed checkpoint of the head unless it has one (or the ledger is empty); return it."""
    validate_at(at)
    lock_head_in(tx)
    if signer.guard is not None:
        signer.guard.check(tx)  # never sign a head that does not follow from what this node trusts
    seq, digest = head_in(tx)
    latest = latest_checkpoint_in(tx)
    if seq == 0 or (latest is not None and latest.seq >= seq):
        return None
    checkpoint = signer.sign(seq, digest, at)
    _insert_checkpoint(tx, checkpoint)
    if signer.guard is not None:
        signer.guard.signed(checkpoint)
    return checkpoint


def lock_head_in(tx: Tx) -> None:
    """Queue behind other writers of the ledger (PostgreSQL); take it first in a transaction that
    reads the ledger to decide what to append, so what it read cannot go stale."""
    statement = _HEAD_LOCKS.get(tx.dialect)
    if statement is not None:
        tx.execute(statement)


def _append_one(tx: Tx, draft: EntryDraft, at: str, head: tuple[int, str]) -> Appended:
    existing = _entry_by_key(tx, draft.key)
    if existing is not None:
        if not same_content(draft, existing):
            raise IdempotencyConflict(
                f"idempotency key {draft.key!r} was already used for different content (entry {existing.seq})"
            )
        return Appended(existing, created=False)
    _check_ref(tx, draft, head[0])
    [entry] = chain([draft], head[0] + 1, head[1], at)
    tx.execute(_INSERT, entry_row(entry))
    return Appended(entry, created=True)


def _check_ref(tx: Tx, draft: EntryDraft, head_seq: int) -> None:
    if draft.ref is None:
        return
    referenced = entry_in(tx, draft.ref) if draft.ref <= head_seq else None
    if referenced is None:
        raise ValidationError(f"ref {draft.ref} names no entry in the ledger")
    if draft.kind is EntryKind.REVERSAL and draft.amount != -referenced.amount:
        raise ValidationError(
            f"a reversal of entry {referenced.seq} has amount {-referenced.amount}, not {draft.amount}"
        )


def _insert_checkpoint(tx: Tx, cp: Checkpoint) -> None:
    tx.execute(
        f"INSERT INTO ledger_checkpoints ({_CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (cp.seq, cp.hash, cp.at, cp.key_id, cp.signature),
    )


def _entry_by_key(tx: Tx, key: str) -> Entry | None:
    row = tx.one(f"{_SELECT} WHERE key = ?", (key,))
    return entry_from_row(row) if row is not None else None


def entry_in(tx: Tx, seq: int) -> Entry | None:
    """The entry numbered ``seq``, or None."""
    row = tx.one(f"{_SELECT} WHERE seq = ?", (seq,))
    return entry_from_row(row) if row is not None else None


def entries_for_student_in(tx: Tx, student: str) -> list[Entry]:
    """Every entry about ``student``, oldest first."""
    return [entry_from_row(row) for row in tx.all(f"{_SELECT} WHERE student = ? ORDER BY seq", (student,))]


def entries_for_school_in(tx: Tx, school: str, limit: int, after_seq: int) -> list[Entry]:
    """Up to ``limit`` (1..MAX_PAGE) entries in ``school``'s books after ``after_seq``, oldest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}")
    sql = f"{_SELECT} WHERE school = ? AND seq > ? ORDER BY seq LIMIT ?"
    return [entry_from_row(row) for row in tx.all(sql, (school, after_seq, limit))]


def entries_referring_in(tx: Tx, seq: int) -> list[Entry]:
    """The entries whose ``ref`` is ``seq`` (recognitions, voids, reversals), oldest first."""
    return [entry_from_row(row) for row in tx.all(f"{_SELECT} WHERE ref = ? ORDER BY seq", (seq,))]


def references_in(tx: Tx, seqs: Sequence[int]) -> list[tuple[int, str, int]]:
    """``(seq, kind, ref)`` of the entries whose ``ref`` is one of ``seqs``, oldest first."""
    found: list[tuple[int, str, int]] = []
    unique = sorted(set(seqs))
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = tx.all(f"SELECT seq, kind, ref FROM ledger_entries WHERE ref IN ({marks}) ORDER BY seq", chunk)
        found += [(int(seq), str(kind), int(ref)) for seq, kind, ref in rows]
    return sorted(found)


def head_in(tx: Tx) -> tuple[int, str]:
    """``(seq, hash)`` of the newest entry; ``(0, GENESIS)`` for an empty ledger."""
    row = tx.one("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1")
    return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)


def latest_checkpoint_in(tx: Tx) -> Checkpoint | None:
    """The newest signed checkpoint, or None."""
    row = tx.one(f"SELECT {_CHECKPOINT_COLUMNS} FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1")
    return Checkpoint(*row) if row is not None else None


def rows_in(tx: Tx, after_seq: int, upto_seq: int, limit: int) -> list[EntryRow]:
    """Raw rows (``ROW_FIELDS`` order) with ``after_seq < seq <= upto_seq``, in seq order."""
    sql = f"{_SELECT} WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
    return [tuple(row) for row in tx.all(sql, (after_seq, upto_seq, limit))]


def checkpoints_in(tx: Tx, after_seq: int, upto_seq: int, limit: int) -> list[Checkpoint]:
    """Checkpoints with ``after_seq < seq <= upto_seq``, in seq order."""
    sql = f"SELECT {_CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
    return [Checkpoint(*row) for row in tx.all(sql, (after_seq, upto_seq, limit))]


def _verify_bound_in(tx: Tx) -> int:
    """The highest seq of any entry or checkpoint, read in one statement (one snapshot)."""
    row = tx.one("SELECT (SELECT MAX(seq) FROM ledger_entries), (SELECT MAX(seq) FROM ledger_checkpoints)")
    return max((int(value) for value in row or () if value is not None), default=0)


# --- the async store -----------------------------------------------------------------------------


class LedgerStore:
    """The ledger for callers that want one transaction per call."""

    def __init__(self, db: Database, signer: CheckpointSigner | None) -> None:
        self._db = db
        self._signer = signer

    async def append(self, drafts: Sequence[EntryDraft]) -> list[Appended]:
        """Append the drafts now, atomically; committed and durable when this returns."""
        at = format_at(datetime.now(UTC))
        return await self._db.transact(append_in, list(drafts), at, self._signer)

    async def entry(self, seq: int) -> Entry | None:
        return await self._db.transact(entry_in, seq)

    async def for_student(self, code: str) -> list[Entry]:
        return await self._db.transact(entries_for_student_in, code)

    async def for_school(self, school: str, limit: int = 100, after_seq: int = 0) -> list[Entry]:
        return await self._db.transact(entries_for_school_in, school, limit, after_seq)

    async def referring(self, seq: int) -> list[Entry]:
        return await self._db.transact(entries_referring_in, seq)

    async def head(self) -> tuple[int, str]:
        return await self._db.transact(head_in)

    async def latest_checkpoint(self) -> Checkpoint | None:
        return await self._db.transact(latest_checkpoint_in)

    async def verify(
        self, verifier: CheckpointVerifier | None, *, every_signature: bool = False, chunk: int = VERIFY_CHUNK
    ) -> VerifyReport:
        """Verify the whole ledger, streaming it in chunks of ``chunk`` rows (see ``verify_rows``).

        The extent is fixed first (entries and checkpoints up to the highest seq of either, read
        at once), so entries appended meanwhile are neither half-read nor reported as unsigned.
        """
        upto = await self._db.transact(_verify_bound_in)
        rows = _stream(self._db, rows_in, upto, chunk, lambda row: int(row[0]))
        checkpoints = _stream(self._db, checkpoints_in, upto, chunk, lambda cp: cp.seq)
        check = verifier.check if verifier is not None else None
        return await asyncio.to_thread(verify_rows, rows, checkpoints, check, every_signature=every_signature)


def _stream(
    db: Database, read: Callable[..., list[Any]], upto: int, chunk: int, seq_of: Callable[[Any], int]
) -> Iterator[Any]:
    """Items from ``read(tx, after, upto, chunk)``, one short transaction per chunk (run off the event loop)."""
    after = _LOWEST_SEQ
    while True:
        batch = db.transact_sync(read, after, upto, chunk)
        yield from batch
        if len(batch) < chunk:
            return
        after = seq_of(batch[-1])
