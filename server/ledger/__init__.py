"""The credit ledger's edge: storage on the Database port, Ed25519 checkpoints, ``classroom ledger verify``.

The pure core (entries, the hash chain, verification) is ``classroom.ledger``.
"""

from __future__ import annotations

from server.ledger.checkpoints import CheckpointSigner, CheckpointVerifier
from server.ledger.store import (
    CREDITS_DB_FILE,
    LEDGER_NAMESPACE,
    LEDGER_SCHEMA,
    Appended,
    IdempotencyConflict,
    LedgerStore,
    append_in,
    entries_for_school_in,
    entries_for_student_in,
    entries_referring_in,
    entry_in,
    head_in,
    latest_checkpoint_in,
    sign_head_in,
)

__all__ = [
    "CREDITS_DB_FILE",
    "LEDGER_NAMESPACE",
    "LEDGER_SCHEMA",
    "Appended",
    "CheckpointSigner",
    "CheckpointVerifier",
    "IdempotencyConflict",
    "LedgerStore",
    "append_in",
    "entries_for_school_in",
    "entries_for_student_in",
    "entries_referring_in",
    "entry_in",
    "head_in",
    "latest_checkpoint_in",
    "sign_head_in",
]
