"""Scenario documents: the shipped line parses and is plausible; every bad field is named."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from classroom.errors import NotFound
from classroom.training.packml import Action, Status
from classroom.training.scenario import ScenarioError, parse_scenario
from classroom.training.scenarios import BUILTIN, builtin_scenario_path
from tests.support.lines import SMALL_LINE
from tests.training.line_helpers import LINE, STATIONS, shipped_line

ROOT = Path(__file__).resolve().parents[2]


def test_every_builtin_scenario_parses() -> None:
    assert LINE in BUILTIN
    for name in BUILTIN:
        assert builtin_scenario_path(name).is_file()
        assert shipped_line().id == name


def test_builtin_scenario_path_refuses_names_that_are_not_shipped() -> None:
    for name in ("nope", "../pyproject", "mould_machining_line.json", ""):
        with pytest.raises(NotFound):
            builtin_scenario_path(name)


def test_scenario_files_are_declared_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    assert "*.json" in package_data["classroom.training.scenarios"]
    assert builtin_scenario_path(LINE).parent == ROOT / "classroom" / "training" / "scenarios"


def test_shipped_line_has_the_training_cells_in_material_flow_order() -> None:
    scenario = shipped_line()
    assert scenario.order == STATIONS
    flow = [(link.source, link.target) for link in scenario.links]
    assert flow == list(zip(STATIONS, STATIONS[1:], strict=False))
    assert all(link.capacity >= 1 for link in scenario.links)
    assert scenario.fault_rate_per_hour > 0


def test_shipped_defaults_lie_within_range_and_optimal_band() -> None:
    for station in shipped_line().stations.values():
        assert 1 <= station.cycle_s <= 120, station.id
        for spec in station.parameters.values():
            if spec.type == "number":
                assert spec.unit, f"{station.id}.{spec.name} has no unit"
                assert spec.min <= spec.default <= spec.max, f"{station.id}.{spec.name}"
            if spec.optimal is not None:
                low, high = spec.optimal
                assert spec.min <= low <= spec.default <= high <= spec.max, f"{station.id}.{spec.name}"


def test_shipped_stations_have_alarms_of_both_kinds() -> None:
    severities = {alarm.severity for station in shipped_line().stations.values() for alarm in station.alarms.values()}
    assert {"low", "medium"} & severities and {"high", "critical"} & severities
    assert all(station.alarms for station in shipped_line().stations.values())


def test_shipped_interlocks_guard_the_press_cell() -> None:
    interlocks = {lock.id: lock for lock in shipped_line().interlocks}
    guard = interlocks["robot_press_guard"]
    assert guard.station == "robot"
    assert (guard.when.station, guard.when.parameter, guard.when.equals) == ("press", "guard_open", True)
    assert {Action.START, Action.UNHOLD} <= guard.blocks
    assert interlocks["press_robot_aborted"].when.status is Status.ABORTED


# --- bad documents ------------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _delete(*path: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


def _duplicate_station(doc: dict[str, Any]) -> None:
    doc["stations"][1]["id"] = doc["stations"][0]["id"]


def _second_link(**fields: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc["links"].append({"from": "press", "to": "robot", **fields})
    return edit


CLAMP = ("stations", 0, "parameters", "clamp_force")
LOCK = ("interlocks", 0)

BAD_DOCUMENTS: list[tuple[str, Edit, str, str]] = [
    ("missing scenario id", _delete("id"), "id", "is required"),
    ("bad scenario id", _set(("id",), "Small Line"), "id", "not a valid name"),
    ("unknown top-level field", _set(("colour",), "blue"), "colour", "is not a known field"),
    ("stations not a list", _set(("stations",), {}), "stations", "must be a list"),
    ("no stations", _set(("stations",), []), "stations", "1 to 64"),
    ("station not an object", _set(("stations", 1), "robot"), "stations[1]", "must be an object"),
    ("missing station id", _delete("stations", 0, "id"), "stations[0].id", "is required"),
    ("upper-case station id", _set(("stations", 0, "id"), "Press"), "stations[0].id", "not a valid name"),
    ("duplicate station", _duplicate_station, "stations[1].id", "duplicate station 'press'"),
    ("unknown station field", _set(("stations", 0, "colour"), 1), "stations[0].colour", "is not a known field"),
    ("cycle time zero", _set(("stations", 0, "cycle_s"), 0), "stations[0].cycle_s", "must be within"),
    ("cycle time a string", _set(("stations", 0, "cycle_s"), "30 s"), "stations[0].cycle_s", "must be a number"),
    ("scrap rate above one", _set(("stations", 0, "scrap_rate"), 1.5), "stations[0].scrap_rate", "must be within"),
    ("min above max", _set((*CLAMP, "min"), 900), "stations[0].parameters.clamp_force.max", "must not be below min"),
    ("default out of range", _set((*CLAMP, "default"), 9000), "stations[0].parameters.clamp_force.default",
     "must be within 100..800"),
    ("max a string", _set((*CLAMP, "max"), "800"), "stations[0].parameters.clamp_force.max", "must be a number"),
    ("min a bool", _set((*CLAMP, "min"), True), "stations[0].parameters.clamp_force.min", "must be a number"),
    ("missing max", _delete(*CLAMP, "max"), "stations[0].parameters.clamp_force.max", "is required"),
    ("unknown parameter type", _set((*CLAMP, "type"), "string"), "stations[0].parameters.clamp_force.type",
     "must be number or bool"),
    ("unknown parameter field", _set((*CLAMP, "step"), 10), "stations[0].parameters.clamp_force.step",
     "is not a known field"),
    ("optimal not a pair", _set((*CLAMP, "optimal"), [300]), "stations[0].parameters.clamp_force.optimal",
     "must be [low, high]"),
    ("bool default not a bool", _set(("stations", 0, "parameters", "guard_open", "default"), 0),
     "stations[0].parameters.guard_open.default", "must be true or false"),
    ("bad parameter name", _set(("stations", 0, "parameters", "Clamp Force"), {"min": 0, "max": 1}),
     "stations[0].parameters.Clamp Force", "not a valid name"),
    ("bad severity", _set(("stations", 0, "alarms", "P01", "severity"), "fatal"),
     "stations[0].alarms.P01.severity", "must be one of low, medium, high, critical"),
    ("alarm without text", _delete("stations", 0, "alarms", "P01", "text"), "stations[0].alarms.P01.text",
     "is required"),
    ("bad alarm code", _set(("stations", 0, "alarms", "P 03"), {"severity": "low", "text": "x"}),
     "stations[0].alarms.P 03", "not a valid name"),
    ("link to unknown station", _set(("links", 0, "to"), "oven"), "links[0].to", "no station 'oven'"),
    ("link from unknown station", _set(("links", 0, "from"), "oven"), "links[0].from", "no station 'oven'"),
    ("duplicate link id", _second_link(id="press_robot", capacity=1), "links[1].id", "duplicate link 'press_robot'"),
    ("duplicate default link id", _second_link(), "links[1].id", "duplicate link 'press_robot'"),
    ("link capacity zero", _set(("links", 0, "capacity"), 0), "links[0].capacity", "must be within 1..10000"),
    ("link capacity fractional", _set(("links", 0, "capacity"), 2.5), "links[0].capacity", "must be a whole number"),
    ("interlock on unknown station", _set((*LOCK, "station"), "oven"), "interlocks[0].station", "no station 'oven'"),
    ("interlock on unknown parameter", _set((*LOCK, "when", "parameter"), "door_open"),
     "interlocks[0].when.parameter", "station 'press' has no parameter 'door_open'"),
    ("interlock condition on unknown station", _set((*LOCK, "when", "station"), "oven"),
     "interlocks[0].when.station", "no station 'oven'"),
    ("interlock on both parameter and status", _set((*LOCK, "when", "status"), "execute"), "interlocks[0].when",
     "exactly one of parameter or status"),
    ("interlock on unknown state", _set((*LOCK, "when"), {"station": "press", "status": "running"}),
     "interlocks[0].when.status", "not a PackML state"),
    ("interlock blocks unknown action", _set((*LOCK, "blocks"), ["start", "jog"]), "interlocks[0].blocks[1]",
     "'jog' is not an action"),
    ("interlock without reason", _delete(*LOCK, "reason"), "interlocks[0].reason", "is required"),
    ("fault rate too high", _set(("fault_rate_per_hour",), 100), "fault_rate_per_hour", "must be within 0..60"),
    ("seed a bool", _set(("seed",), True), "seed", "must be a whole number"),
    ("min minus infinity", _set((*CLAMP, "min"), float("-inf")), "stations[0].parameters.clamp_force.min",
     "must be a finite number"),
    ("max infinity", _set((*CLAMP, "max"), float("inf")), "stations[0].parameters.clamp_force.max",
     "must be a finite number"),
    ("max not a number", _set((*CLAMP, "max"), float("nan")), "stations[0].parameters.clamp_force.max",
     "must be a finite number"),
    ("optimal infinity", _set((*CLAMP, "optimal"), [300, float("inf")]),
     "stations[0].parameters.clamp_force.optimal[1]", "must be a finite number"),
    ("interlock equals infinity", _set((*LOCK, "when", "equals"), float("inf")), "interlocks[0].when.equals",
     "must be a finite number"),
    ("interlock above infinity", _set((*LOCK, "when", "above"), float("-inf")), "interlocks[0].when.above",
     "must be a finite number"),
    ("control characters in the title", _set(("title",), "\x1b[31mred"), "title", "must not contain control"),
    ("line break in an alarm text", _set(("stations", 0, "alarms", "P01", "text"), "a\nb"),
     "stations[0].alarms.P01.text", "must not contain control"),
    ("lone surrogate in a unit", _set((*CLAMP, "unit"), "k\ud800"), "stations[0].parameters.clamp_force.unit",
     "lone surrogates"),
    ("station id with a trailing line break", _set(("stations", 0, "id"), "press\n"), "stations[0].id",
     "must not contain control"),
]


@pytest.mark.parametrize(("edit", "where", "problem"), [case[1:] for case in BAD_DOCUMENTS],
                         ids=[case[0] for case in BAD_DOCUMENTS])
def test_bad_document_is_refused_with_an_error_naming_the_field(edit: Edit, where: str, problem: str) -> None:
    document = copy.deepcopy(SMALL_LINE)
    edit(document)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document)
    assert caught.value.where == where
    assert str(caught.value).startswith(f"{where}: ")
    assert problem in str(caught.value)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ScenarioError, match="^scenario: must be a JSON object"):
        parse_scenario([SMALL_LINE])


def test_the_unedited_base_document_parses() -> None:
    """The bad-document table edits a valid document: each error is caused by its edit alone."""
    assert parse_scenario(copy.deepcopy(SMALL_LINE)).id == "small-line"


def _small(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "id": "tiny", "stations": [
            {"id": "press", "cycle_s": 5, "parameters": {
                "force": {"min": 10, "max": 100, "default": 50, "optimal": [40, 60]},
                "guard_open": {"type": "bool"}}},
            {"id": "robot", "cycle_s": 5}],
        "links": [{"from": "press", "to": "robot"}],
        "interlocks": [{"id": "guard", "station": "robot", "reason": "guard open",
                        "when": {"station": "press", "parameter": "guard_open", "equals": True}}]}
    document.update(changes)
    return document


@pytest.mark.parametrize(("change", "where"), [
    ({"stations": [{"id": "press", "cycle_s": 5, "parameters": {
        "force": {"min": 10, "max": 100, "optimal": [60, 40]}}}]}, "stations[0].parameters.force.optimal"),
    ({"stations": [{"id": "press", "cycle_s": 5, "parameters": {
        "force": {"min": 10, "max": 100, "optimal": [5, 40]}}}]}, "stations[0].parameters.force.optimal"),
    ({"links": [{"from": "press", "to": "press"}]}, "links[0].to"),
    ({"interlocks": [{"id": "g", "station": "robot", "reason": "r",
                      "when": {"station": "press", "parameter": "guard_open", "equals": [True]}}]},
     "interlocks[0].when.equals"),
    ({"interlocks": [{"id": "g", "station": "robot", "reason": "r",
                      "when": {"station": "press", "parameter": "guard_open"}}]}, "interlocks[0].when"),
])
def test_semantically_broken_scenarios_are_refused_naming_the_field(change: dict[str, object], where: str) -> None:
    parse_scenario(_small())  # the base document is valid
    with pytest.raises(ScenarioError) as error:
        parse_scenario(_small(**change))
    assert str(error.value).startswith(where + ":")
