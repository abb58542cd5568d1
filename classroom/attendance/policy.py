"""Attendance policies: the published, versioned numbers that turn presence into a status.

A published version is never edited: a lesson's attendance records the version it was computed
with, so recomputing an old lesson gives the old answer. A change of rules is a new version in
``POLICIES`` and a new ``CURRENT_POLICY``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from classroom.errors import ValidationError

__all__ = ["CURRENT_POLICY", "POLICIES", "Policy", "policy"]


@dataclass(frozen=True)
class Policy:
    """The numbers of one policy version; every duration is in seconds."""

    version: str
    late_grace_s: float
    early_grace_s: float
    reconnect_grace_s: float
    rollcall_answer_s: float
    min_share: float

    def __post_init__(self) -> None:
        if not self.version:
            raise ValidationError("a policy needs a version")
        for name in ("late_grace_s", "early_grace_s", "reconnect_grace_s", "rollcall_answer_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValidationError(f"{name} must be a finite, non-negative number of seconds")
        if not 0.0 <= self.min_share <= 1.0:
            raise ValidationError("min_share must be between 0 and 1")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        "2026.1": Policy(
            version="2026.1",
            late_grace_s=300.0,
            early_grace_s=300.0,
            reconnect_grace_s=60.0,
            rollcall_answer_s=120.0,
            min_share=0.75,
        ),
    }
)
"""Every published policy by version. Never edit one: add a version."""

CURRENT_POLICY: str = "2026.1"


def policy(version: str) -> Policy:
    """The published policy ``version``; ValidationError for a version that was never published."""
    try:
        return POLICIES[version]
    except (KeyError, TypeError):
        known = ", ".join(sorted(POLICIES))
        raise ValidationError(f"unknown attendance policy version {version!r} (known: {known})") from None
