"""The hash chain over ledger entries (pure: hashlib and json only).

Every entry is hashed once, together with its predecessor's hash::

    leaf  = UTF-8 of the canonical JSON array
            ["classroom-ledger-entry/v1", seq, at, key, kind, student, school, course, lesson,
             amount, ref, author, reason, {detail, keys sorted}]
    hash  = hex(SHA-256(bytes.fromhex(prev_hash) + leaf)),  prev_hash of seq 1 = GENESIS ("00" * 32)

Signed checkpoints (:class:`Checkpoint`) record the head ``(seq, hash)`` at a time; checking their
signatures is injected (``CheckpointCheck``) so this module stays pure. Verification, which walks
the chain and names the first tampered entry, is in :mod:`classroom.ledger.verify`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from classroom.ledger.entries import Entry, EntryDraft, EntryKind, EntryRow, Scalar

__all__ = [
    "GENESIS",
    "LEAF_TAG",
    "Checkpoint",
    "CheckpointCheck",
    "chain",
    "draft_leaf",
    "entry_hash",
    "hash_or_none",
    "leaf_as",
    "leaf_bytes",
    "row_leaf",
]

GENESIS = "00" * 32
LEAF_TAG = "classroom-ledger-entry/v1"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the ledger's head was ``(seq, hash)`` at time ``at``."""

    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id, "signature": self.signature}


CheckpointCheck = Callable[[Checkpoint], bool]


# --- hashing -------------------------------------------------------------------------------------


def leaf_bytes(
    seq: int,
    at: str,
    key: str,
    kind: EntryKind | str,
    student: str,
    school: str,
    course: str,
    lesson: str,
    amount: int,
    ref: int | None,
    author: str,
    reason: str,
    detail: Mapping[str, Scalar],
) -> bytes:
    """The canonical encoding of one entry, the input to its hash."""
    kind_text = kind.value if isinstance(kind, EntryKind) else kind
    fields = [LEAF_TAG, seq, at, key, kind_text, student, school, course, lesson, amount, ref, author, reason]
    return _ENCODER.encode([*fields, dict(detail)]).encode()


def draft_leaf(seq: int, at: str, draft: EntryDraft) -> bytes:
    """:func:`leaf_bytes` of a draft appended as ``seq`` at ``at``."""
    d = draft
    return leaf_bytes(
        seq, at, d.key, d.kind, d.student, d.school, d.course, d.lesson, d.amount, d.ref, d.author, d.reason, d.detail
    )


def row_leaf(row: EntryRow) -> bytes | None:
    """:func:`leaf_bytes` of a stored row (detail as JSON text); None when the row cannot be encoded."""
    detail = row[12]
    try:
        parsed = _EMPTY if detail == "{}" else json.loads(detail)
        return _ENCODER.encode([LEAF_TAG, *row[:12], parsed]).encode()
    except (TypeError, ValueError):
        return None


def entry_hash(prev_hash: str, leaf: bytes) -> str:
    """``hex(SHA-256(bytes.fromhex(prev_hash) + leaf))``."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + leaf).hexdigest()


def chain(drafts: Iterable[EntryDraft], start_seq: int, prev_hash: str, at: str) -> list[Entry]:
    """The drafts as entries ``start_seq, start_seq + 1, ...`` chained after ``prev_hash``."""
    entries: list[Entry] = []
    for seq, draft in enumerate(drafts, start=start_seq):
        digest = entry_hash(prev_hash, draft_leaf(seq, at, draft))
        entries.append(Entry(seq=seq, at=at, draft=draft, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return entries


def hash_or_none(prev_hash: object, leaf: bytes | None) -> str | None:
    """:func:`entry_hash`, or None when the leaf or the previous hash cannot be used."""
    if leaf is None or not isinstance(prev_hash, str):
        return None
    try:
        return entry_hash(prev_hash, leaf)
    except ValueError:
        return None


def leaf_as(row: EntryRow, seq: int) -> bytes | None:
    """The leaf of ``row``'s content numbered ``seq``."""
    return row_leaf((seq, *row[1:]))
