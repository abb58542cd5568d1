"""Driving the shipped mould/machining line in tests: load it, send wire commands, run line time."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from classroom.roles import Role
from classroom.training.commands import Actor, execute, parse_command
from classroom.training.scenario import Scalar, Scenario, parse_scenario
from classroom.training.scenarios import builtin_scenario_path
from classroom.training.simulation import advance
from classroom.training.state import LineState, initial_state

TEACHER = Actor("east", Role.TEACHER, "alice")
LINE = "mould_machining_line"
STATIONS = ("warehouse", "lathe", "mill", "robot", "press", "conveyor", "vision")


@functools.cache
def _shipped_document() -> str:
    return builtin_scenario_path(LINE).read_text(encoding="utf-8")


def shipped_document() -> dict[str, Any]:
    """A fresh copy of the shipped scenario's JSON, safe to mutate."""
    return copy.deepcopy(json.loads(_shipped_document()))


def shipped_line(**overrides: Any) -> Scenario:
    """The shipped scenario, with top-level fields (seed, fault_rate_per_hour...) overridden."""
    return parse_scenario({**shipped_document(), **overrides})


def send(state: LineState, wire: dict[str, Any], actor: Actor = TEACHER) -> LineState:
    """The state after an accepted wire command (raises what ``execute`` raises)."""
    return execute(state, actor, parse_command(wire))[0]


def action(station: str, name: str) -> dict[str, Any]:
    return {"kind": "station", "station": station, "action": name}


def parameter(station: str, name: str, value: Scalar) -> dict[str, Any]:
    return {"kind": "set_parameter", "station": station, "name": name, "value": value}


def run(state: LineState, seconds: float, dt: float = 0.5) -> LineState:
    """Advance ``seconds`` of line time in steps of ``dt``."""
    for _ in range(round(seconds / dt)):
        state, _ = advance(state, dt)
    return state


def run_until(state: LineState, done: Callable[[LineState], bool], limit_s: float, dt: float = 0.5) -> LineState:
    """Advance until ``done(state)``; fails if it has not happened within ``limit_s`` of line time."""
    deadline = state.time + limit_s
    while not done(state):
        assert state.time < deadline, f"condition not met within {limit_s} s of line time"
        state, _ = advance(state, dt)
    return state


def status(state: LineState, station: str) -> str:
    return str(state[f"/stations/{station}/status"])


def ready(state: LineState, stations: Iterable[str] = STATIONS) -> LineState:
    """Reset the stations and wait until they are idle."""
    stations = tuple(stations)
    for station in stations:
        state = send(state, action(station, "reset"))
    return run_until(state, lambda s: all(status(s, st) == "idle" for st in stations), 30)


def running(state: LineState, stations: Iterable[str] = STATIONS) -> LineState:
    """Reset and start the stations; returns once none of them is still starting."""
    stations = tuple(stations)
    state = ready(state, stations)
    for station in stations:
        state = send(state, action(station, "start"))
    return run_until(state, lambda s: all(status(s, st) not in ("starting", "idle") for st in stations), 30)


def quiet_line(**overrides: Any) -> LineState:
    """The shipped line with random faults off, so that tests see only what they cause."""
    return initial_state(shipped_line(fault_rate_per_hour=0, **overrides))
