"""Property tests for scenario documents: any decoded JSON, and any mutation of the shipped line,
gives a ``Scenario`` or a ``ScenarioError`` naming a field, never another exception; whatever
parses writes back to a document (finite numbers only) that parses to the same scenario."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.training.scenario import Condition, Interlock, ParameterSpec, Scenario, ScenarioError, parse_scenario
from classroom.training.scenarios import builtin_scenario_path

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHIPPED_TEXT = builtin_scenario_path("mould_machining_line").read_text(encoding="utf-8")
SHIPPED: dict[str, Any] = json.loads(SHIPPED_TEXT)
Path = tuple[str | int, ...]

# --- strategies -----------------------------------------------------------------------------------

texts = st.text(max_size=20) | st.sampled_from(["", "\x00", "a\nb", "\ud800", "press", "start", "x" * 5000])
numbers = st.one_of(st.integers(), st.sampled_from([2**63, -(2**63), 10**400, -(10**400)]),
                    st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=25)
KEYS = ["id", "title", "stations", "links", "interlocks", "fault_rate_per_hour", "seed", "name", "kind", "cycle_s",
        "parameters", "alarms", "from", "to", "capacity", "station", "when", "blocks", "reason", "status",
        "parameter", "equals", "above", "below", "min", "max", "default", "optimal", "type", "severity", "text"]
scenario_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | texts, inner, max_size=6),
    max_leaves=40,
)
"""Documents built from the format's own field names: deeper into the parser than random keys get."""


def node_paths(value: Any, path: Path = ()) -> list[Path]:
    """The path of every node in a JSON document, the root included."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += node_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += node_paths(item, (*path, index))
    return found


PATHS = node_paths(SHIPPED)
REPLACEMENTS = st.one_of(
    json_values,
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 10**400, "bad\x07text", "line\nbreak", "\udc80",
                     [], {}, [[]], [{}], True, "start"]),
)


def at(document: Any, path: Path) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def mutants(draw: st.DrawFn) -> Any:
    """The shipped line with one to three mutations: a key dropped, a value of another type, a
    non-finite number, a control character in a text, a list grown huge, an unknown field."""
    document = copy.deepcopy(SHIPPED)
    for _ in range(draw(st.integers(1, 3))):
        paths = node_paths(document)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent, key = at(document, path[:-1]), path[-1]
        value = parent[key]
        action = draw(st.sampled_from(["drop", "replace", "control", "huge", "extra"]))
        if action == "drop":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(REPLACEMENTS)
        elif action == "control" and isinstance(value, str):
            cut = draw(st.integers(0, len(value)))
            parent[key] = value[:cut] + draw(st.sampled_from(["\x00", "\x1f", "\x7f", "\x85", "\t", "\ud800"])) \
                + value[cut:]
        elif action == "huge" and isinstance(value, list):
            parent[key] = value * draw(st.sampled_from([100, 2000]))
        elif action == "extra" and isinstance(value, dict):
            value[draw(st.sampled_from(KEYS) | texts)] = draw(json_values)
    return document


# --- what parses, written back ----------------------------------------------------------------


def parameter_document(spec: ParameterSpec) -> dict[str, Any]:
    if spec.type == "bool":
        return {"type": "bool", "default": spec.default}
    document: dict[str, Any] = {"type": "number", "unit": spec.unit, "min": spec.min, "max": spec.max,
                                "default": spec.default}
    if spec.optimal is not None:
        document["optimal"] = list(spec.optimal)
    return document


def condition_document(when: Condition) -> dict[str, Any]:
    document = {"station": when.station, "parameter": when.parameter,
                "status": when.status.value if when.status else None,
                "equals": when.equals, "above": when.above, "below": when.below}
    return {key: value for key, value in document.items() if value is not None}


def interlock_document(lock: Interlock) -> dict[str, Any]:
    return {"id": lock.id, "station": lock.station, "when": condition_document(lock.when),
            "blocks": sorted(action.value for action in lock.blocks), "reason": lock.reason}


def document_of(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a document of the format (docs/scenarios.md)."""
    stations = [{
        "id": s.id, "name": s.name, "kind": s.kind, "cycle_s": s.cycle_s, "transition_s": s.transition_s,
        "scrap_rate": s.scrap_rate,
        "parameters": {name: parameter_document(spec) for name, spec in s.parameters.items()},
        "alarms": {code: {"severity": a.severity, "text": a.text} for code, a in s.alarms.items()},
    } for s in (scenario.stations[name] for name in scenario.order)]
    return {"id": scenario.id, "title": scenario.title, "seed": scenario.seed,
            "fault_rate_per_hour": scenario.fault_rate_per_hour, "stations": stations,
            "links": [{"id": k.id, "from": k.source, "to": k.target, "capacity": k.capacity} for k in scenario.links],
            "interlocks": [interlock_document(lock) for lock in scenario.interlocks]}


def parses_or_names_a_field(document: Any) -> Scenario | ScenarioError:
    try:
        scenario = parse_scenario(document)
    except ScenarioError as exc:
        assert exc.where and str(exc).startswith(f"{exc.where}: ")
        return exc
    written = json.dumps(document_of(scenario), allow_nan=False)  # every number it kept is finite
    assert parse_scenario(json.loads(written)) == scenario
    return scenario


# --- properties -----------------------------------------------------------------------------------


def test_the_shipped_line_round_trips() -> None:
    scenario = parse_scenario(copy.deepcopy(SHIPPED))
    assert parse_scenario(document_of(scenario)) == scenario
    assert parse_scenario(json.loads(json.dumps(document_of(scenario)))) == scenario


@BOUNDED
@given(document=json_values)
def test_any_json_document_parses_or_raises_a_scenario_error(document: Any) -> None:
    assert isinstance(parses_or_names_a_field(document), ScenarioError)  # none of these is a whole line


@BOUNDED
@given(document=scenario_like)
def test_a_document_built_from_the_formats_field_names_parses_or_names_a_field(document: Any) -> None:
    parses_or_names_a_field(document)


@BOUNDED
@given(document=mutants())
def test_a_mutated_shipped_line_parses_or_names_a_field(document: Any) -> None:
    parses_or_names_a_field(document)


HOSTILE: list[Any] = [float("nan"), -(10**400), "x\x00", None, {}, [[]], [{}], ["start"] * 1000]


def test_every_node_replaced_by_each_hostile_value_parses_or_is_refused_by_name() -> None:
    """A sweep, not a sample: each node of the shipped line in turn takes each value of HOSTILE."""
    for path in PATHS[1:]:
        for value in HOSTILE:
            document = json.loads(SHIPPED_TEXT)  # a fresh copy, faster than deepcopy
            at(document, path[:-1])[path[-1]] = value
            result = parses_or_names_a_field(document)
            if isinstance(result, Scenario):  # the parser ignored the value: it is not in what it kept
                assert all(not isinstance(v, float) or math.isfinite(v) for v in _leaves(document_of(result)))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
