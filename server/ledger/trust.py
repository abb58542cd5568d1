"""The checkpoints this node trusts, kept outside the database.

A node signs the ledger's head in every write. Before it signs, the ledger must follow from the
newest checkpoint the node signed itself and saw committed: that entry still has the hash it
signed, and every entry after it links to the one before. Whoever can edit the database can
recompute the hash chain and delete the checkpoint rows, but not this file (it lives with the
node, like the signing key), so an edited or rolled-back ledger is refused instead of re-signed.

A checkpoint is trusted once its transaction is known to have committed: it is held as
*pending* until the next signing finds its entry in the database with the hash it signed, then
appended (fsynced) to ``ledger-trusted.jsonl``. A transaction that rolled back leaves a pending
checkpoint that never matches; it is dropped, so a failed write never raises a false alarm.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from classroom.errors import LedgerTampered
from classroom.ledger.chain import Checkpoint, hash_or_none, row_leaf
from server.edge.database import Tx
from server.ledger.store import entry_in, head_in, rows_in

__all__ = ["TRUSTED_FILE", "TrustedHead", "read_checkpoints"]

log = logging.getLogger(__name__)

TRUSTED_FILE = "ledger-trusted.jsonl"
_PAGE = 10_000


class TrustedHead:
    """The newest trusted checkpoint of this node, its file, and the one waiting for its commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.trusted: Checkpoint | None = _last_line(path)
        self.pending: Checkpoint | None = None
        self.refusals = 0
        """How many writes were refused because the ledger did not follow (a metric for admins)."""

    def check(self, tx: Tx) -> None:
        """Raise LedgerTampered unless the ledger in ``tx`` follows from the trusted checkpoint."""
        self._promote_pending(tx)
        try:
            _check_follows(tx, self.trusted)
        except LedgerTampered as exc:
            self.refusals += 1
            log.critical("ledger refused to sign: %s (trusted checkpoint file %s; refusals=%d)",
                         exc.message, self.path, self.refusals)
            raise

    def signed(self, checkpoint: Checkpoint) -> None:
        """The node signed ``checkpoint`` in a transaction that has not committed yet."""
        self.pending = checkpoint

    def _promote_pending(self, tx: Tx) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        entry = entry_in(tx, pending.seq)
        if entry is not None and entry.hash == pending.hash:
            _append_line(self.path, pending)
            self.trusted = pending


def _check_follows(tx: Tx, trusted: Checkpoint | None) -> None:
    seq, prev = (0, None) if trusted is None else (trusted.seq, trusted.hash)
    if trusted is not None:
        entry = entry_in(tx, trusted.seq)
        if entry is None:
            head = head_in(tx)[0]
            raise LedgerTampered(f"the ledger ends at seq {head}, but this node signed its head at seq {seq}: "
                                 "entries were deleted (rolled back)")
        if entry.hash != trusted.hash:
            raise LedgerTampered(f"entry {seq} is not the one this node signed: the ledger was rewritten "
                                 "or rolled back")
    _check_links(tx, seq, prev)


def _check_links(tx: Tx, after: int, prev: str | None) -> None:
    """Every entry after ``after`` hashes to its stored hash and links to the one before."""
    expected_seq = after + 1
    while rows := rows_in(tx, after, 2**62, _PAGE):
        for row in rows:
            seq, prev_hash, digest = int(row[0]), row[-2], row[-1]
            if seq != expected_seq or (prev is not None and prev_hash != prev):
                raise LedgerTampered(f"entry {seq} does not link to entry {expected_seq - 1}")
            if hash_or_none(prev_hash, row_leaf(row)) != digest:
                raise LedgerTampered(f"entry {seq} does not hash to its stored hash: it was changed")
            prev, expected_seq, after = digest, seq + 1, seq


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """The checkpoints of a JSON-lines file (this node's trusted file, a witness store); [] when absent."""
    if not path.exists():
        return []
    return [Checkpoint(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _last_line(path: Path) -> Checkpoint | None:
    kept = read_checkpoints(path)
    return kept[-1] if kept else None


def _append_line(path: Path, checkpoint: Checkpoint) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(asdict(checkpoint), sort_keys=True) + "\n")
        file.flush()
        os.fsync(file.fileno())
