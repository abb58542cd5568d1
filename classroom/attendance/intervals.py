"""Closed time intervals and the little algebra attendance needs: merge, clip, intersect, union, total.

Every helper accepts intervals in any order and returns a sorted tuple of disjoint intervals.
``merge`` and ``union`` keep zero-length intervals (an instant can still bridge a gap, such as
a connection that joined and never beat); ``clip`` and ``intersect`` keep only pieces of positive
length, because an instant shared by two intervals is no time at all. Everything works on
interval lists, never on per-second arrays, so a two-hour lesson costs as much as a minute.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass

from classroom.errors import ValidationError

__all__ = ["Interval", "clip", "covers", "intersect", "merge", "total", "union"]


@dataclass(frozen=True)
class Interval:
    """The closed span [start, end] in seconds; ValidationError unless start <= end, both finite."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValidationError("interval bounds must be finite numbers")
        if self.start > self.end:
            raise ValidationError(f"interval starts after it ends: {self.start} > {self.end}")

    @property
    def length(self) -> float:
        return self.end - self.start

    def to_json(self) -> dict[str, float]:
        return {"start": self.start, "end": self.end}


def merge(intervals: Iterable[Interval], bridge_s: float = 0.0) -> tuple[Interval, ...]:
    """Sort, merge overlapping or touching intervals, and bridge gaps of at most ``bridge_s`` seconds."""
    if not bridge_s >= 0:
        raise ValidationError("bridge_s must be a non-negative number of seconds")
    merged: list[Interval] = []
    for piece in sorted(intervals, key=_bounds):
        if merged and piece.start - merged[-1].end <= bridge_s:
            if piece.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, piece.end)
        else:
            merged.append(piece)
    return tuple(merged)


def union(*groups: Iterable[Interval]) -> tuple[Interval, ...]:
    """All the time covered by any of the groups."""
    return merge(piece for group in groups for piece in group)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    """The time covered by both ``a`` and ``b``: positive-length pieces only (a two-pointer walk)."""
    left, right = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i].start, right[j].start)
        end = min(left[i].end, right[j].end)
        if start < end:
            out.append(Interval(start, end))
        if left[i].end < right[j].end:
            i += 1
        else:
            j += 1
    return tuple(out)


def clip(intervals: Iterable[Interval], window: Interval) -> tuple[Interval, ...]:
    """The parts of ``intervals`` inside ``window`` (positive-length pieces only)."""
    return intersect(intervals, (window,))


def total(intervals: Iterable[Interval]) -> float:
    """The time covered, in seconds; overlaps are counted once."""
    return sum(piece.length for piece in merge(intervals))


def covers(intervals: tuple[Interval, ...], at: float) -> bool:
    """Whether ``at`` lies in one of the sorted, disjoint ``intervals`` (bounds included)."""
    index = bisect.bisect_left(intervals, at, key=_end)
    return index < len(intervals) and intervals[index].start <= at


def _bounds(piece: Interval) -> tuple[float, float]:
    return (piece.start, piece.end)


def _end(piece: Interval) -> float:
    return piece.end
