"""Who acts: a principal is (school, role, subject), never a subject alone.

Two tokens name the same person only if all three agree: ``alice`` the teacher of school ``east`` and
``alice`` a student of school ``west`` are two principals. Every identity check, room key, presence
event and ledger author uses a :class:`Principal`; comparing bare subjects is the bug this type
exists to prevent.
"""

from __future__ import annotations

from dataclasses import dataclass

from classroom.roles import Role

__all__ = ["Principal"]


@dataclass(frozen=True, order=True)
class Principal:
    """One acting identity. Equal only when school, role and subject all are."""

    school: str
    role: Role
    subject: str

    def __str__(self) -> str:
        """The author string stored in logs and ledgers: ``role:subject@school``."""
        return f"{self.role.value}:{self.subject}@{self.school}"

    def to_json(self) -> dict[str, str]:
        return {"subject": self.subject, "role": self.role.value, "school": self.school}
