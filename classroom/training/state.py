"""The authoritative state of a training line: a flat map of JSON pointers to scalars.

Flat paths make patches trivial: a change is ``(path, value)``. ``document()`` builds
the nested JSON that clients hold and patch (RFC 6902 paths into it).

    /stations/{id}/status            PackML state
    /stations/{id}/since             line time the state was entered
    /stations/{id}/assigned          classroom operating it, or null
    /stations/{id}/cycle_started     line time the current cycle started, or null
    /stations/{id}/parameters/{p}    number or bool
    /stations/{id}/counters/{c}      produced, good, scrap
    /stations/{id}/alarms/{code}/active, /acknowledged
    /buffers/{link}                  parts waiting between two stations
    /fault_rate_per_hour             random faults per executing station and hour
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from classroom.training.packml import Status
from classroom.training.scenario import COUNTERS, Scalar, Scenario

__all__ = ["Draft", "LineState", "initial_state"]

_MISSING = object()


@dataclass(frozen=True)
class LineState:
    scenario: Scenario
    revision: int
    time: float
    values: Mapping[str, Scalar]
    rng: int

    def __getitem__(self, path: str) -> Scalar:
        return self.values[path]

    def document(self) -> dict[str, Any]:
        """The nested JSON document the flat values describe."""
        root: dict[str, Any] = {}
        for path, value in self.values.items():
            node = root
            *parents, leaf = path[1:].split("/")
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = value
        return root


def initial_state(scenario: Scenario) -> LineState:
    values: dict[str, Scalar] = {"/fault_rate_per_hour": scenario.fault_rate_per_hour}
    for station in scenario.stations.values():
        base = f"/stations/{station.id}"
        values.update({f"{base}/status": Status.STOPPED.value, f"{base}/since": 0.0, f"{base}/assigned": None,
                       f"{base}/cycle_started": None})
        values.update({f"{base}/parameters/{p.name}": p.default for p in station.parameters.values()})
        values.update({f"{base}/counters/{c}": 0 for c in COUNTERS})
        for code in station.alarms:
            values.update({f"{base}/alarms/{code}/active": False, f"{base}/alarms/{code}/acknowledged": True})
    values.update({f"/buffers/{link.id}": 0 for link in scenario.links})
    return LineState(scenario, 0, 0.0, values, scenario.seed & 0xFFFFFFFFFFFFFFFF)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


class Draft:
    """A private, mutable working copy: records every path it changes."""

    def __init__(self, state: LineState) -> None:
        self.base = state
        self.scenario = state.scenario
        self.time = state.time
        self.rng = state.rng
        self.changes: dict[str, Scalar] = {}

    def get(self, path: str) -> Any:
        value = self.changes.get(path, _MISSING)
        return self.base.values[path] if value is _MISSING else value

    def set(self, path: str, value: Scalar) -> None:
        if path not in self.base.values:
            raise KeyError(path)
        if _same(self.base.values[path], value):
            self.changes.pop(path, None)
        else:
            self.changes[path] = value

    def station(self, station_id: str, field: str) -> Any:
        return self.get(f"/stations/{station_id}/{field}")

    def set_station(self, station_id: str, field: str, value: Scalar) -> None:
        self.set(f"/stations/{station_id}/{field}", value)

    def set_status(self, station_id: str, status: Status) -> None:
        self.set_station(station_id, "status", status.value)
        self.set_station(station_id, "since", self.time)

    def random(self) -> float:
        """Deterministic uniform [0, 1) from the state's splitmix64 sequence."""
        self.rng = (self.rng + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.rng
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return ((z ^ (z >> 31)) >> 11) / float(1 << 53)

    def commit(self) -> tuple[LineState, dict[str, Scalar]]:
        """The new state (next revision if anything changed) and the changed paths."""
        if not self.changes:
            return replace(self.base, time=self.time, rng=self.rng), {}
        values = dict(self.base.values)
        values.update(self.changes)
        state = LineState(self.scenario, self.base.revision + 1, self.time, values, self.rng)
        return state, dict(self.changes)
