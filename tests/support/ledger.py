"""Ledger entry drafts for tests: ``earned(3)`` is an EARNED draft with key ``earned-3``."""

from __future__ import annotations

from classroom.ledger.entries import EntryDraft, EntryKind

__all__ = ["earned"]


def earned(n: int, *, student: str = "SW-0001", school: str = "east", amount: int = 150) -> EntryDraft:
    """An EARNED draft with key ``earned-<n>``."""
    return EntryDraft(
        key=f"earned-{n}",
        kind=EntryKind.EARNED,
        student=student,
        school=school,
        course="welding",
        lesson=f"L{n}",
        amount=amount,
    )
