"""Conditions the commands and the simulation share: interlocks and alarms."""

from __future__ import annotations

from classroom.training.packml import Action
from classroom.training.scenario import Condition, Interlock, StationSpec
from classroom.training.state import Draft

__all__ = ["active_alarms", "blocking_interlock", "holds"]


def holds(draft: Draft, condition: Condition) -> bool:
    """True while ``condition`` is met by the current values."""
    if condition.status is not None:
        return bool(draft.station(condition.station, "status") == condition.status.value)
    value = draft.station(condition.station, f"parameters/{condition.parameter}")
    if condition.equals is not None and value != condition.equals:
        return False
    if condition.above is not None and not value > condition.above:
        return False
    return condition.below is None or value < condition.below


def blocking_interlock(draft: Draft, station: str, action: Action) -> Interlock | None:
    for interlock in draft.scenario.interlocks:
        if interlock.station == station and action in interlock.blocks and holds(draft, interlock.when):
            return interlock
    return None


def active_alarms(draft: Draft, spec: StationSpec) -> list[str]:
    return [code for code in spec.alarms if draft.station(spec.id, f"alarms/{code}/active")]
