"""Consistency between checkpoints of one ledger, as a witness checks it (pure: no I/O).

The ledger is a hash chain, so an older head ``(a, hash_a)`` is a prefix of a newer one ``(b,
hash_b)`` exactly when hashing the leaves ``a+1 .. b`` onto ``hash_a`` gives ``hash_b``
(:func:`classroom.ledger.chain.entry_hash`). A witness keeps the checkpoints it has checked; given
the leaves after its newest one, it recomputes every hash on the way and checks each newer signed
checkpoint against it. A checkpoint that does not match is a *fork*: the ledger was rewritten.
A ledger whose newest checkpoint is older than one the witness holds was *rolled back*. The
same comparison checks a database against checkpoints kept outside it (:func:`check_known`).

RFC 6962 section 2.1.2 is the model; the proof here is the leaves themselves, since a hash chain
has no shorter one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from classroom.ledger.chain import GENESIS, Checkpoint, entry_hash

__all__ = ["Inconsistency", "RunningHead", "check_known"]


@dataclass(frozen=True)
class Inconsistency:
    """Why two views of one ledger cannot both be true. ``kind`` is ``fork``, ``rollback``,
    ``signature`` or ``order``."""

    kind: str
    seq: int
    message: str

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "seq": self.seq, "message": self.message}


class RunningHead:
    """The head of a ledger as a witness recomputes it, starting from a checkpoint it trusts
    (or from the empty ledger)."""

    def __init__(self, start: Checkpoint | None) -> None:
        self.seq = 0 if start is None else start.seq
        self.hash = GENESIS if start is None else start.hash

    def extend(self, leaves: Iterable[bytes], checkpoints: Sequence[Checkpoint]) -> Inconsistency | None:
        """Hash ``leaves`` (entries ``seq + 1, seq + 2, ...``) onto the head, checking every one of
        ``checkpoints`` (ascending seq) that falls in that range; stop at the first mismatch."""
        by_seq = {cp.seq: cp for cp in checkpoints}
        for leaf in leaves:
            self.hash = entry_hash(self.hash, leaf)
            self.seq += 1
            cp = by_seq.get(self.seq)
            if cp is not None and cp.hash != self.hash:
                return Inconsistency("fork", cp.seq, f"checkpoint {cp.seq} signs hash {cp.hash[:16]}..., but the "
                                     f"entries after the last checked head hash to {self.hash[:16]}...")
        return None


def check_known(known: Iterable[Checkpoint], hash_at: Callable[[int], str | None],
                head_seq: int) -> Inconsistency | None:
    """Check a ledger (``hash_at(seq)`` gives an entry's stored hash, ``head_seq`` its last seq)
    against checkpoints known from outside it: each must still be in the chain with its hash."""
    for cp in known:
        if cp.seq > head_seq:
            return Inconsistency("rollback", cp.seq, f"a checkpoint at seq {cp.seq} was seen, but the ledger "
                                 f"ends at seq {head_seq}: entries were deleted")
        stored = hash_at(cp.seq)
        if stored != cp.hash:
            return Inconsistency("fork", cp.seq, f"entry {cp.seq} is not the one a checkpoint seen before "
                                 "signed: the ledger was rewritten")
    return None
