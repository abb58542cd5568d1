"""How many WHIP/WHEP sessions each principal and each lesson may hold at once.

A slot is taken before any peer connection is created (so concurrent requests cannot
overshoot the caps while their ICE candidates are being gathered) and given back when
the session's transport closes: by ``DELETE``, a replacing publish, the lesson's end, a
failed connection, or the connect timeout of a session whose ICE never completed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from classroom.principal import Principal
from server.edge.errors import ServiceUnavailable, TooManyRequests

__all__ = ["SessionLimits", "SessionSlots"]


@dataclass(frozen=True)
class SessionLimits:
    per_principal: int = 4
    per_lesson: int = 500
    retry_after_s: int = 10


@dataclass(frozen=True)
class _Slot:
    principal: Principal
    lesson_id: str


class SessionSlots:
    def __init__(self, limits: SessionLimits) -> None:
        self.limits = limits
        self._held: dict[str, _Slot] = {}

    def reserve(self, session_id: str, principal: Principal, lesson_id: str,
                replacing: Collection[str] = ()) -> None:
        """Take a slot for ``session_id``; the sessions in ``replacing`` are about to close and do not count."""
        others = [slot for key, slot in self._held.items() if key not in replacing]
        if sum(1 for slot in others if slot.principal == principal) >= self.limits.per_principal:
            raise TooManyRequests(f"at most {self.limits.per_principal} media sessions per user at once; "
                                  "end one (DELETE its session URL) or retry later", self.limits.retry_after_s)
        if sum(1 for slot in others if slot.lesson_id == lesson_id) >= self.limits.per_lesson:
            raise ServiceUnavailable(f"lesson {lesson_id} has its maximum of {self.limits.per_lesson} media "
                                     "sessions; retry later", self.limits.retry_after_s)
        self._held[session_id] = _Slot(principal, lesson_id)

    def release(self, session_id: str) -> None:
        self._held.pop(session_id, None)

    def held(self, lesson_id: str | None = None) -> int:
        return sum(1 for slot in self._held.values() if lesson_id is None or slot.lesson_id == lesson_id)
