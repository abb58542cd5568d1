"""Verification of the ledger's hash chain and signed checkpoints (pure).

:func:`verify_rows` walks rows in seq order, hashing each row once, and reports the first problem,
in seq order, as a :class:`Problem` of one of these kinds:

- ``changed``: an entry's content (or prev_hash) no longer matches its hash, or an entry was
  rewritten with its own hash recomputed (its successor still links to the old hash);
- ``deleted``: a seq is missing, an entry is the renumbered successor of a removed one, or a
  signed checkpoint names a longer ledger than is stored (the tail was cut off);
- ``inserted``: the entry after it still links to the entry before it (later entries renumbered),
  a duplicate seq, or entries after the newest signed checkpoint;
- ``reordered``: an entry holds the content that hashes correctly only at another position;
- ``rewritten``: every row is self-consistent but a signed checkpoint's head hash differs: an entry
  in the first failing checkpoint interval was rewritten and every later hash recomputed;
- ``bad_signature``: a checkpoint's signature does not verify.

By default only the signatures that carry the verdict are checked: the newest checkpoint that
agrees with the chain (it vouches for every entry up to it through the hashes) and any checkpoint
that disagrees. ``every_signature=True`` checks all of them.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from classroom.ledger.chain import GENESIS, Checkpoint, CheckpointCheck, hash_or_none, leaf_as, row_leaf
from classroom.ledger.entries import Entry, EntryRow, entry_row

__all__ = ["PROBLEM_KINDS", "Problem", "VerifyReport", "verify_entries", "verify_rows"]

PROBLEM_KINDS = ("changed", "deleted", "inserted", "reordered", "rewritten", "bad_signature")

_RECENT = 16  # rows kept behind the walk, to recognise entries inserted just before a suspect
_NEAR_AFTER = 8  # seqs tried after a suspect when its content may have been renumbered down
_NEVER = float("inf")


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a ledger: where (``seq``), what (``kind``) and why (``message``)."""

    seq: int
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of a verification; ``signed_seq`` is the newest checkpoint whose signature verified."""

    ok: bool
    entries: int
    checkpoints: int
    head_seq: int
    head_hash: str
    problem: Problem | None
    signed_seq: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "signed_seq": self.signed_seq,
            "problem": self.problem.to_json() if self.problem else None,
        }


def verify_entries(
    rows: Iterable[Entry],
    checkpoints: Iterable[Checkpoint],
    check: CheckpointCheck | None = None,
    *,
    every_signature: bool = False,
) -> VerifyReport:
    """:func:`verify_rows` over entries (in seq order) instead of raw rows."""
    return verify_rows(map(entry_row, rows), checkpoints, check, every_signature=every_signature)


def verify_rows(
    rows: Iterable[EntryRow],
    checkpoints: Iterable[Checkpoint],
    check: CheckpointCheck | None = None,
    *,
    every_signature: bool = False,
) -> VerifyReport:
    """Walk rows and checkpoints (both in seq order) and report the first problem; see the module doc.

    Without ``check`` no signature is checked (checkpoint hashes still are).
    """
    walk = _Walk(checkpoints, check, every_signature)
    problem = walk.run(iter(rows))
    return VerifyReport(
        ok=problem is None,
        entries=walk.entries,
        checkpoints=walk.checkpoints,
        head_seq=walk.head_seq,
        head_hash=walk.head_hash,
        problem=problem,
        signed_seq=walk.signed_seq,
    )


class _Walk:
    """One pass over the rows; checkpoints are consumed alongside."""

    def __init__(self, checkpoints: Iterable[Checkpoint], check: CheckpointCheck | None, every: bool) -> None:
        self._cps = iter(checkpoints)
        self._check = check
        self._every = every
        self.entries = 0
        self.checkpoints = 0
        self.head_seq = 0
        self.head_hash = GENESIS
        self.signed_seq = 0
        self._recent: deque[EntryRow] = deque(maxlen=_RECENT)
        self._vouched: Checkpoint | None = None  # the newest checkpoint that agrees with the chain
        self._vouched_ok: bool | None = None  # its signature, once checked
        self._mismatch: tuple[Problem, int] | None = None  # (rewritten problem, checkpoint seq)
        self._cp = self._next_checkpoint()

    def run(self, rows: Iterator[EntryRow]) -> Problem | None:
        problem = self._walk(rows)
        for row in rows:  # after an early return: count what is left
            self._count(row)
        problem = self._outcome(problem)
        while self._cp is not None:
            self._cp = self._next_checkpoint()
        return problem

    def _next_checkpoint(self) -> Checkpoint | None:
        cp = next(self._cps, None)
        if cp is not None:
            self.checkpoints += 1
        return cp

    def _count(self, row: EntryRow) -> None:
        self.entries += 1
        self.head_seq, self.head_hash = row[0], row[14]

    def _walk(self, rows: Iterator[EntryRow]) -> Problem | None:
        recent, sha, leaf_of = self._recent, hashlib.sha256, row_leaf
        expected, prev_hex, prev_raw = 1, GENESIS, bytes(32)
        cp_seq = self._cp.seq if self._cp is not None else _NEVER
        for row in rows:
            if row[0] != expected or row[13] != prev_hex:
                return self._diagnose(row, rows)
            leaf = leaf_of(row)
            digest = sha(prev_raw + leaf).digest() if leaf is not None else b""
            digest_hex = digest.hex()
            if digest_hex != row[14]:
                return self._diagnose(row, rows)
            recent.append(row)
            self.entries, self.head_seq, self.head_hash = expected, expected, digest_hex
            prev_raw, prev_hex, expected = digest, digest_hex, expected + 1
            if row[0] >= cp_seq:
                problem = self._checkpoints_at(row)
                if problem is not None:
                    return problem
                cp_seq = self._cp.seq if self._cp is not None else _NEVER
        return None

    # --- checkpoints ---

    def _signed(self, cp: Checkpoint) -> bool:
        return self._check is None or self._check(cp)

    def _checkpoints_at(self, row: EntryRow) -> Problem | None:
        while self._cp is not None and self._cp.seq <= row[0]:
            cp, self._cp = self._cp, self._next_checkpoint()
            problem = self._one_checkpoint(cp, row)
            if problem is not None:
                return problem
        return None

    def _one_checkpoint(self, cp: Checkpoint, row: EntryRow) -> Problem | None:
        if self._mismatch is not None:
            return None  # later checkpoints disagree too once one does
        if (self._every or cp.seq != row[0]) and not self._signed(cp):
            return _bad_signature(cp)
        if cp.seq != row[0]:
            return None  # a stray checkpoint (seq below 1) with a good signature names nothing
        if cp.hash == row[14]:
            self._vouched, self._vouched_ok = cp, (True if self._every else None)
            return None
        if not self._signed(cp):
            return _bad_signature(cp)
        self._mismatch = (_rewritten(cp, row, self._vouched), cp.seq)
        return None

    def _outcome(self, problem: Problem | None) -> Problem | None:
        if self._mismatch is not None:
            rewritten, checkpoint_seq = self._mismatch
            if problem is None or problem.seq > checkpoint_seq:
                problem = rewritten  # a row problem at or before the checkpoint explains it better
        if problem is None:
            problem = self._tail()
        return self._vouched_signature() or problem

    def _vouched_signature(self) -> Problem | None:
        cp = self._vouched
        if cp is None or self._check is None:
            return None
        if self._vouched_ok is None:
            self._vouched_ok = self._check(cp)
        if not self._vouched_ok:
            return _bad_signature(cp)
        self.signed_seq = cp.seq
        return None

    def _tail(self) -> Problem | None:
        cp, head = self._cp, self.head_seq
        while cp is not None and (following := self._next_checkpoint()) is not None:
            cp = following  # the newest checkpoint beyond the last entry
        self._cp = None
        if cp is not None:
            if not self._signed(cp):
                return _bad_signature(cp)
            lost = _span(head + 1, cp.seq)
            message = (
                f"checkpoint {cp.seq} signed a ledger of {cp.seq} entries but it ends at seq {head}: {lost} deleted"
            )
            return Problem(head + 1, "deleted", message)
        vouched = self._vouched
        if vouched is None and head > 0:
            return Problem(1, "unsigned", f"{_span(1, head)} appended but no signed checkpoint vouches for them")
        if vouched is not None and head > vouched.seq:
            extra = _span(vouched.seq + 1, head)
            message = (
                f"{extra} appended after the newest signed checkpoint (seq {vouched.seq}), behind the ledger's back"
            )
            return Problem(vouched.seq + 1, "inserted", message)
        return None

    # --- row problems ---

    def _diagnose(self, row: EntryRow, rows: Iterator[EntryRow]) -> Problem:
        expected = self.head_seq + 1
        if row[0] != expected:
            self._count(row)
            return _out_of_sequence(row[0], expected)
        suspect = _Suspect(row, tuple(self._recent))
        self._count(row)
        for later in rows:
            suspect.see(later)
            self._count(later)
        return suspect.verdict()


def _span(first: int, last: int) -> str:
    return f"entry {first} was" if first == last else f"entries {first}..{last} were"


def _bad_signature(cp: Checkpoint) -> Problem:
    message = f"checkpoint {cp.seq} (key {cp.key_id}) has a signature that does not verify"
    return Problem(cp.seq, "bad_signature", message)


def _rewritten(cp: Checkpoint, row: EntryRow, vouched: Checkpoint | None) -> Problem:
    start = vouched.seq + 1 if vouched is not None else 1
    where = f"entry {start} was" if start == cp.seq else f"an entry in {start}..{cp.seq} was"
    message = (
        f"checkpoint {cp.seq} signed head hash {cp.hash[:16]}... at {cp.at} but entry {cp.seq} now hashes to "
        f"{str(row[14])[:16]}...: {where} rewritten and every later hash recomputed"
    )
    return Problem(start, "rewritten", message)


def _out_of_sequence(seq: int, expected: int) -> Problem:
    if seq < expected:
        message = f"entry {seq} appears again after entry {expected - 1}: a duplicate or out-of-sequence entry"
        return Problem(seq, "inserted", message)
    return Problem(expected, "deleted", f"{_span(expected, seq - 1)} deleted: the ledger jumps to seq {seq}")


class _Suspect:
    """The first row that does not chain; the rest of the ledger is scanned to explain it."""

    def __init__(self, row: EntryRow, recent: tuple[EntryRow, ...]) -> None:
        self.row, self.seq, self.prev = row, row[0], row[13]
        self.recent = recent  # the rows before it, oldest first
        self.own_ok = self.fits(self.seq)
        self.prev_exists = any(r[14] == self.prev for r in recent)
        self.successor: EntryRow | None = None
        self.home: int | None = None  # a later seq at which the row hashes to its own hash
        self.content_home: int | None = None  # a later seq whose prev_hash/hash frame the row's content fits

    def fits(self, seq: int) -> bool:
        """Whether the row, numbered ``seq``, hashes to its own stored hash from its own prev_hash."""
        return hash_or_none(self.prev, leaf_as(self.row, seq)) == self.row[14]

    def see(self, later: EntryRow) -> None:
        if self.successor is None:
            self.successor = later
        if later[14] == self.prev:
            self.prev_exists = True
        if self.own_ok:
            return
        leaf = leaf_as(self.row, later[0])
        if self.home is None and hash_or_none(self.prev, leaf) == self.row[14]:
            self.home = later[0]
        if self.content_home is None and hash_or_none(later[13], leaf) == later[14]:
            self.content_home = later[0]

    def verdict(self) -> Problem:
        if self.own_ok:
            return self._relinked()
        return self._moved_down() or self._moved_up() or self._content_moved() or self._changed()

    def _hash_at(self, seq: int) -> str | None:
        if seq == 0:
            return GENESIS
        found = [r[14] for r in self.recent if r[0] == seq]
        return found[0] if found else None

    def _moved_down(self) -> Problem | None:
        """The row hashes correctly at an earlier seq: entries were inserted before it (or it was moved)."""
        for origin in range(self.seq - 1, max(self.seq - 1 - len(self.recent), 0), -1):
            if not self.fits(origin):
                continue
            if self._hash_at(origin - 1) == self.prev:
                added = _span(origin, self.seq - 1)
                message = f"{added} inserted: entry {self.seq} is the former entry {origin}, renumbered"
                return Problem(origin, "inserted", f"{message}, and still links to entry {origin - 1}")
            return Problem(self.seq, "reordered", f"entry {self.seq} holds the entry that belongs at seq {origin}")
        return None

    def _moved_up(self) -> Problem | None:
        """The row hashes correctly at a later seq: entries before it were deleted, or rows were swapped."""
        near = (s for s in range(self.seq + 1, self.seq + 1 + _NEAR_AFTER) if self.fits(s))
        home = self.home or next(near, None)
        if home is None:
            return None
        if not self.prev_exists:
            lost = _span(self.seq, home - 1)
            message = f"{lost} deleted: entry {self.seq} is the former entry {home}, renumbered"
            return Problem(self.seq, "deleted", f"{message}, and links to a hash no entry has")
        return Problem(self.seq, "reordered", f"entry {self.seq} holds the entry that belongs at seq {home}")

    def _content_moved(self) -> Problem | None:
        if self.content_home is None:
            return None
        home = self.content_home
        message = f"entry {self.seq} holds the content of entry {home}: it hashes correctly only in that place"
        return Problem(self.seq, "reordered", message)

    def _changed(self) -> Problem:
        return Problem(self.seq, "changed", f"entry {self.seq} no longer matches its hash: its content was changed")

    def _relinked(self) -> Problem:
        """The row is self-consistent but does not link to the row before it."""
        earlier = [r[0] for r in itertools.islice(reversed(self.recent), 1, None) if r[14] == self.prev]
        if self.prev == GENESIS:
            earlier.append(0)
        if earlier:
            added = _span(earlier[0] + 1, self.seq - 1)
            message = f"{added} inserted: entry {self.seq} links to entry {earlier[0]}"
            return Problem(earlier[0] + 1, "inserted", message)
        if self.prev_exists:
            return Problem(self.seq, "reordered", f"entry {self.seq} links to an entry that comes after it")
        if self.seq == 1:
            return self._changed()
        if self.successor is None or self.successor[13] == self.row[14]:
            message = (
                f"entry {self.seq - 1} was rewritten and its hash recomputed: entry {self.seq} links to the old one"
            )
            return Problem(self.seq - 1, "changed", message)
        message = f"entry {self.seq} links to a hash no entry has: the entry before it was deleted, the rest renumbered"
        return Problem(self.seq, "deleted", message)
