"""A student's account in the credit bank, folded from their ledger entries.

Nothing here is stored: balances and the level are always recomputed from the append-only
entries, so they can never disagree with the ledger.

- earned: credits of EARNED entries that were not reversed (in the teaching schools' books);
- recognised: credits of RECOGNISED entries that were not reversed (the home school's count);
- pending: credits of active EARNED entries at another school than the student's home school
  that the home school has neither recognised nor voided yet;
- level: what the thresholds give for ``recognised``; ``recorded_level`` is the ``to`` of the last
  LEVEL_CHANGE entry (tin before any), so ``level != recorded_level`` means a change is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from classroom.ledger import Entry, EntryKind
from classroom.levels import Level, Thresholds, format_credits

__all__ = ["SYSTEM_AUTHOR", "Account", "account_of", "active", "reversed_seqs"]

SYSTEM_AUTHOR = "system"
"""The author of entries the bank posts by itself (from computed attendance)."""


@dataclass(frozen=True)
class Account:
    student: str
    earned: int
    recognised: int
    pending: int
    level: Level
    recorded_level: Level
    level_changes: int

    def to_json(self) -> dict[str, Any]:
        return {"student": self.student, "earned": format_credits(self.earned),
                "recognised": format_credits(self.recognised), "pending": format_credits(self.pending),
                "level": self.level.value}


def reversed_seqs(entries: Iterable[Entry]) -> dict[int, Entry]:
    """seq of each reversed entry -> the reversal."""
    return {e.ref: e for e in entries if e.kind is EntryKind.REVERSAL and e.ref is not None}


def active(entries: Sequence[Entry], kind: EntryKind) -> list[Entry]:
    """Entries of ``kind`` that no reversal cancelled."""
    cancelled = reversed_seqs(entries)
    return [e for e in entries if e.kind is kind and e.seq not in cancelled]


def _pending(entries: Sequence[Entry]) -> int:
    decided = {e.ref for e in entries if e.kind in (EntryKind.RECOGNISED, EntryKind.RECOGNITION_VOIDED)}
    return sum(e.amount for e in active(entries, EntryKind.EARNED)
               if e.detail.get("home_school", e.school) != e.school and e.seq not in decided)


def account_of(student: str, entries: Sequence[Entry], thresholds: Thresholds) -> Account:
    """Fold ``entries`` (all of one student's, in seq order) into balances and levels."""
    recognised = sum(e.amount for e in active(entries, EntryKind.RECOGNISED))
    changes = [e for e in entries if e.kind is EntryKind.LEVEL_CHANGE]
    recorded = Level(str(changes[-1].detail["to"])) if changes else Level.TIN
    return Account(
        student=student,
        earned=sum(e.amount for e in active(entries, EntryKind.EARNED)),
        recognised=recognised,
        pending=_pending(entries),
        level=thresholds.level_for(recognised),
        recorded_level=recorded,
        level_changes=len(changes),
    )
