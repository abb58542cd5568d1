"""The five levels of the credit bank (tin, iron, bronze, silver, gold) and their thresholds.

A student's level follows from their recognised credits: the highest level whose threshold they
reach. Thresholds are configuration (``CLASSROOM_LEVEL_THRESHOLDS``), in credits, strictly rising;
tin is where everyone starts (threshold 0).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from classroom.credits import format_credits, parse_credits

__all__ = ["DEFAULT_THRESHOLDS", "Level", "Thresholds", "format_credits", "parse_credits"]


class Level(str, enum.Enum):
    TIN = "tin"
    IRON = "iron"
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


@dataclass(frozen=True)
class Thresholds:
    """Recognised centi-credits needed for iron, bronze, silver and gold."""

    iron: int
    bronze: int
    silver: int
    gold: int

    def __post_init__(self) -> None:
        values = [self.iron, self.bronze, self.silver, self.gold]
        if values[0] <= 0 or any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError("level thresholds must be positive and strictly rising: iron < bronze < silver < gold")

    @classmethod
    def parse(cls, text: str) -> Thresholds:
        """``"iron=10,bronze=30,silver=60,gold=100"`` (credits)."""
        parts: dict[str, int] = {}
        for item in (part.strip() for part in text.split(",") if part.strip()):
            name, sep, amount = item.partition("=")
            if not sep or name.strip() not in {"iron", "bronze", "silver", "gold"}:
                raise ValueError(f"{item!r}: write level=credits for iron, bronze, silver and gold")
            parts[name.strip()] = parse_credits(amount, name.strip())
        missing = {"iron", "bronze", "silver", "gold"} - set(parts)
        if missing:
            raise ValueError(f"missing threshold(s): {', '.join(sorted(missing))}")
        return cls(**parts)

    def as_map(self) -> Mapping[Level, int]:
        return {Level.TIN: 0, Level.IRON: self.iron, Level.BRONZE: self.bronze, Level.SILVER: self.silver,
                Level.GOLD: self.gold}

    def level_for(self, recognised_centi: int) -> Level:
        """The highest level whose threshold ``recognised_centi`` reaches."""
        reached = Level.TIN
        for level, threshold in self.as_map().items():
            if recognised_centi >= threshold:
                reached = level
        return reached

    def to_text(self) -> str:
        return ",".join(f"{level.value}={format_credits(t)}" for level, t in self.as_map().items() if t)


DEFAULT_THRESHOLDS = Thresholds(iron=1000, bronze=3000, silver=6000, gold=10000)
"""10, 30, 60 and 100 recognised credits."""
