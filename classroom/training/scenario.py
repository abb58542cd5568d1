"""Scenario: the stations of a training line, their typed fields, links and interlocks.

``parse_scenario(data)`` validates a decoded JSON document and returns a frozen
``Scenario``; every problem is a ``ScenarioError`` naming the field, for example
``stations[2].parameters.spindle_speed.max: must be a number``. The format is
documented in docs/scenarios.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from classroom.errors import ValidationError
from classroom.fields import text_problem
from classroom.training.packml import Action, Status

__all__ = [
    "SEVERITIES",
    "AlarmSpec",
    "Condition",
    "Interlock",
    "Link",
    "ParameterSpec",
    "Scenario",
    "ScenarioError",
    "StationSpec",
    "parse_scenario",
]

SEVERITIES = ("low", "medium", "high", "critical")
COUNTERS = ("produced", "good", "scrap")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ALARM = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_MAX_INT = 2**63 - 1

Scalar = bool | int | float | str | None


class ScenarioError(ValidationError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str  # "number" | "bool"
    default: float | bool
    unit: str = ""
    min: float = 0.0
    max: float = 0.0
    optimal: tuple[float, float] | None = None  # outside it, the station scraps more

    def check(self, value: object) -> float | bool:
        """The value if it fits this parameter; raises ValidationError saying why not."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ValidationError(f"{self.name} takes true or false")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValidationError(f"{self.name} takes a number ({self.unit})")
        if not self.min <= value <= self.max:
            raise ValidationError(f"{self.name} must be within {self.min:g}..{self.max:g} {self.unit}".rstrip())
        return value


@dataclass(frozen=True)
class AlarmSpec:
    code: str
    severity: str
    text: str


@dataclass(frozen=True)
class StationSpec:
    id: str
    name: str
    kind: str
    cycle_s: float
    transition_s: float
    scrap_rate: float
    parameters: Mapping[str, ParameterSpec]
    alarms: Mapping[str, AlarmSpec]


@dataclass(frozen=True)
class Link:
    """Parts flow from ``source`` into a buffer that ``target`` takes from."""

    id: str
    source: str
    target: str
    capacity: int


@dataclass(frozen=True)
class Condition:
    station: str
    parameter: str | None = None
    status: Status | None = None
    equals: Scalar = None
    above: float | None = None
    below: float | None = None


@dataclass(frozen=True)
class Interlock:
    id: str
    station: str
    when: Condition
    blocks: frozenset[Action]
    reason: str


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    stations: Mapping[str, StationSpec]
    links: tuple[Link, ...] = ()
    interlocks: tuple[Interlock, ...] = ()
    fault_rate_per_hour: float = 0.0
    seed: int = 1
    order: tuple[str, ...] = field(default=())  # station ids in file order

    def upstream(self, station: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.target == station)

    def downstream(self, station: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.source == station)


# --- parsing ----------------------------------------------------------------------------------


def _get(data: Mapping[str, Any], key: str, where: str, kinds: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise ScenarioError(f"{where}.{key}" if where else key, "is required")
        return default
    value = data[key]
    names = {"str": "a string", "int": "a whole number", "float": "a number", "dict": "an object",
             "list": "a list", "bool": "true or false"}
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in _tuple(kinds))
    if not ok:
        wanted = "a number" if _tuple(kinds) == (int, float) else " or ".join(
            names.get(k.__name__, k.__name__) for k in _tuple(kinds))
        raise ScenarioError(f"{where}.{key}" if where else key, f"must be {wanted}")
    return _checked(value, f"{where}.{key}" if where else key)


def _checked(value: Any, where: str) -> Any:
    """Numbers must be finite (a browser cannot read Infinity back) and whole numbers fit 64 bits (as in
    server.edge.wire_json; a larger one cannot even become a float); text is one line (classroom.fields)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(where, "must be a finite number")
    if isinstance(value, int) and not -_MAX_INT <= value <= _MAX_INT:
        raise ScenarioError(where, f"must be within ±{_MAX_INT}")
    problem = text_problem(value, lines=False) if isinstance(value, str) else None
    if problem is not None:
        raise ScenarioError(where, problem)
    return value


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _name(value: str, where: str, pattern: re.Pattern[str] = _NAME) -> str:
    if not pattern.fullmatch(value):
        raise ScenarioError(where, f"{value!r} is not a valid name (lower case letters, digits, _)")
    return value


def _number_in(value: float, where: str, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ScenarioError(where, f"must be within {low:g}..{high:g}")
    return float(value)


def _shown(key: str) -> str:
    """A field name from the document as the error shows it: as written, or quoted when it is empty,
    long or not printable (the error must name a field, never carry raw control characters)."""
    return key if key and key.isprintable() and len(key) <= 40 else repr(key[:40])


def _only(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScenarioError(f"{where}.{_shown(unknown[0])}" if where else _shown(unknown[0]), "is not a known field")


def _parameter(name: str, data: Any, where: str) -> ParameterSpec:
    if not isinstance(data, dict):
        raise ScenarioError(where, "must be an object")
    _only(data, {"type", "unit", "min", "max", "default", "optimal"}, where)
    kind = _get(data, "type", where, str, "number")
    if kind == "bool":
        return ParameterSpec(name, "bool", _get(data, "default", where, bool, False))
    if kind != "number":
        raise ScenarioError(f"{where}.type", "must be number or bool")
    low = float(_get(data, "min", where, (int, float)))
    high = float(_get(data, "max", where, (int, float)))
    if high < low:
        raise ScenarioError(f"{where}.max", "must not be below min")
    default = float(_get(data, "default", where, (int, float), low))
    _number_in(default, f"{where}.default", low, high)
    optimal = _get(data, "optimal", where, list, None)
    if optimal is not None:
        if len(optimal) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in optimal):
            raise ScenarioError(f"{where}.optimal", "must be [low, high]")
        for index, bound in enumerate(optimal):
            _checked(bound, f"{where}.optimal[{index}]")
        optimal = (float(optimal[0]), float(optimal[1]))
        if not low <= optimal[0] <= optimal[1] <= high:
            raise ScenarioError(f"{where}.optimal", f"must be an ordered band within {low:g}..{high:g}")
    return ParameterSpec(name, "number", default, _get(data, "unit", where, str, ""), low, high, optimal)


def _alarm(code: str, data: Any, where: str) -> AlarmSpec:
    if not isinstance(data, dict):
        raise ScenarioError(where, "must be an object")
    _only(data, {"severity", "text"}, where)
    severity = _get(data, "severity", where, str)
    if severity not in SEVERITIES:
        raise ScenarioError(f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}")
    return AlarmSpec(code, severity, _get(data, "text", where, str))


def _station(data: Any, where: str) -> StationSpec:
    if not isinstance(data, dict):
        raise ScenarioError(where, "must be an object")
    _only(data, {"id", "name", "kind", "cycle_s", "transition_s", "scrap_rate", "parameters", "alarms"}, where)
    station_id = _name(_get(data, "id", where, str), f"{where}.id")
    parameters = _get(data, "parameters", where, dict, {})
    alarms = _get(data, "alarms", where, dict, {})
    return StationSpec(
        id=station_id,
        name=_get(data, "name", where, str, station_id),
        kind=_get(data, "kind", where, str, "station"),
        cycle_s=_number_in(_get(data, "cycle_s", where, (int, float)), f"{where}.cycle_s", 0.1, 3600),
        transition_s=_number_in(_get(data, "transition_s", where, (int, float), 1.0), f"{where}.transition_s",
                                0, 60),
        scrap_rate=_number_in(_get(data, "scrap_rate", where, (int, float), 0.0), f"{where}.scrap_rate", 0, 1),
        parameters={_name(k, f"{where}.parameters.{_shown(k)}"): _parameter(k, v, f"{where}.parameters.{k}")
                    for k, v in parameters.items()},
        alarms={_name(k, f"{where}.alarms.{_shown(k)}", _ALARM): _alarm(k, v, f"{where}.alarms.{k}")
                for k, v in alarms.items()},
    )


def _link(data: Any, where: str, stations: Mapping[str, StationSpec]) -> Link:
    if not isinstance(data, dict):
        raise ScenarioError(where, "must be an object")
    _only(data, {"id", "from", "to", "capacity"}, where)
    source, target = _get(data, "from", where, str), _get(data, "to", where, str)
    for key, station in (("from", source), ("to", target)):
        if station not in stations:
            raise ScenarioError(f"{where}.{key}", f"no station {station!r}")
    if source == target:
        raise ScenarioError(f"{where}.to", "a link cannot lead a station into itself")
    capacity = _get(data, "capacity", where, int, 5)
    if not 1 <= capacity <= 10_000:
        raise ScenarioError(f"{where}.capacity", "must be within 1..10000")
    return Link(_name(_get(data, "id", where, str, f"{source}_{target}"), f"{where}.id"), source, target, capacity)


def _condition(data: Any, where: str, stations: Mapping[str, StationSpec]) -> Condition:
    if not isinstance(data, dict):
        raise ScenarioError(where, "must be an object")
    _only(data, {"station", "parameter", "status", "equals", "above", "below"}, where)
    station = _get(data, "station", where, str)
    if station not in stations:
        raise ScenarioError(f"{where}.station", f"no station {station!r}")
    parameter = _get(data, "parameter", where, str, None)
    status = _get(data, "status", where, str, None)
    if (parameter is None) == (status is None):
        raise ScenarioError(where, "needs exactly one of parameter or status")
    if parameter is not None and parameter not in stations[station].parameters:
        raise ScenarioError(f"{where}.parameter", f"station {station!r} has no parameter {parameter!r}")
    if status is not None and status not in {s.value for s in Status}:
        raise ScenarioError(f"{where}.status", f"{status!r} is not a PackML state")
    equals = data.get("equals")
    if equals is not None and not isinstance(equals, (bool, int, float, str)):
        raise ScenarioError(f"{where}.equals", "must be a number, a string or true/false")
    _checked(equals, f"{where}.equals")
    if parameter is not None and all(data.get(k) is None for k in ("equals", "above", "below")):
        raise ScenarioError(where, "a parameter condition needs equals, above or below")
    return Condition(station, parameter, Status(status) if status else None, data.get("equals"),
                     _get(data, "above", where, (int, float), None), _get(data, "below", where, (int, float), None))


def _interlock(data: Any, where: str, stations: Mapping[str, StationSpec]) -> Interlock:
    if not isinstance(data, dict):
        raise ScenarioError(where, "must be an object")
    _only(data, {"id", "station", "when", "blocks", "reason"}, where)
    station = _get(data, "station", where, str)
    if station not in stations:
        raise ScenarioError(f"{where}.station", f"no station {station!r}")
    blocks = _get(data, "blocks", where, list, ["start", "unhold"])
    actions = {a.value for a in Action}
    for index, action in enumerate(blocks):
        if not isinstance(action, str) or action not in actions:  # a list or an object is not even hashable
            raise ScenarioError(f"{where}.blocks[{index}]",
                                f"{action[:40]!r} is not an action" if isinstance(action, str) else "must be a string")
    return Interlock(_name(_get(data, "id", where, str), f"{where}.id"), station,
                     _condition(_get(data, "when", where, dict), f"{where}.when", stations),
                     frozenset(Action(a) for a in blocks), _get(data, "reason", where, str))


def _unique_links(links: tuple[Link, ...]) -> None:
    """Each link owns the buffer ``/buffers/{id}``: two links with one id would share it."""
    seen: set[str] = set()
    for index, link in enumerate(links):
        if link.id in seen:
            raise ScenarioError(f"links[{index}].id", f"duplicate link {link.id!r}")
        seen.add(link.id)


def parse_scenario(data: Any) -> Scenario:
    """Validate a decoded scenario document; raises ScenarioError naming the bad field."""
    if not isinstance(data, dict):
        raise ScenarioError("scenario", "must be a JSON object")
    _only(data, {"id", "title", "stations", "links", "interlocks", "fault_rate_per_hour", "seed"}, "")
    raw_stations = _get(data, "stations", "", list)
    if not 1 <= len(raw_stations) <= 64:
        raise ScenarioError("stations", "must list 1 to 64 stations")
    stations: dict[str, StationSpec] = {}
    for index, raw in enumerate(raw_stations):
        station = _station(raw, f"stations[{index}]")
        if station.id in stations:
            raise ScenarioError(f"stations[{index}].id", f"duplicate station {station.id!r}")
        stations[station.id] = station
    links = tuple(_link(raw, f"links[{i}]", stations) for i, raw in enumerate(_get(data, "links", "", list, [])))
    _unique_links(links)
    interlocks = tuple(_interlock(raw, f"interlocks[{i}]", stations)
                       for i, raw in enumerate(_get(data, "interlocks", "", list, [])))
    return Scenario(
        id=_name(_get(data, "id", "", str), "id", re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")),
        title=_get(data, "title", "", str, ""),
        stations=stations,
        links=links,
        interlocks=interlocks,
        fault_rate_per_hour=_number_in(_get(data, "fault_rate_per_hour", "", (int, float), 0), "fault_rate_per_hour",
                                       0, 60),
        seed=_get(data, "seed", "", int, 1),
        order=tuple(stations),
    )
