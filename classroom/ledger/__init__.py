"""The credit ledger's pure core: entries, their hash chain and its verification.

Storage, signing and the command line live in ``server.ledger``. The ``chain`` function is not
re-exported here (it would hide the ``classroom.ledger.chain`` module): import it from there.
"""

from __future__ import annotations

from classroom.ledger.chain import (
    GENESIS,
    Checkpoint,
    CheckpointCheck,
    draft_leaf,
    entry_hash,
    leaf_bytes,
    row_leaf,
)
from classroom.ledger.entries import (
    Detail,
    Entry,
    EntryDraft,
    EntryKind,
    EntryRow,
    IdempotencyConflict,
    canonical_detail,
    entry_from_row,
    entry_row,
    format_at,
    format_credits,
    same_content,
    validate_at,
    validate_draft,
)
from classroom.ledger.verify import PROBLEM_KINDS, Problem, VerifyReport, verify_entries, verify_rows

__all__ = [
    "GENESIS",
    "PROBLEM_KINDS",
    "Checkpoint",
    "CheckpointCheck",
    "Detail",
    "Entry",
    "EntryDraft",
    "EntryKind",
    "EntryRow",
    "IdempotencyConflict",
    "Problem",
    "VerifyReport",
    "canonical_detail",
    "draft_leaf",
    "entry_from_row",
    "entry_hash",
    "entry_row",
    "format_at",
    "format_credits",
    "leaf_bytes",
    "row_leaf",
    "same_content",
    "validate_at",
    "validate_draft",
    "verify_entries",
    "verify_rows",
]
