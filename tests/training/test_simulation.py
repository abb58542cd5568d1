"""The seeded simulation: settling, production through buffers, scrap, interlock trips, determinism."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.errors import Conflict, DomainError
from classroom.training.commands import execute, parse_command
from classroom.training.packml import Action
from classroom.training.scenario import parse_scenario
from classroom.training.simulation import advance
from classroom.training.state import LineState, initial_state
from tests.training.line_helpers import (
    STATIONS,
    TEACHER,
    action,
    parameter,
    quiet_line,
    ready,
    run,
    run_until,
    running,
    send,
    shipped_line,
    status,
)


def buffer(state: LineState, link: str) -> int:
    return int(state[f"/buffers/{link}"])  # type: ignore[arg-type]


def counter(state: LineState, station: str, name: str) -> int:
    return int(state[f"/stations/{station}/counters/{name}"])  # type: ignore[arg-type]


# --- acting states -------------------------------------------------------------------------------

# (set-up actions, the action under test, acting state, settled state); the conveyor settles after 1 s
SETTLING = [
    ((), "reset", "resetting", "idle"),
    (("reset",), "start", "starting", "execute"),
    (("reset",), "stop", "stopping", "stopped"),
    ((), "abort", "aborting", "aborted"),
    (("abort",), "clear", "clearing", "stopped"),
]


@pytest.mark.parametrize(("setup", "act", "acting", "settled"), SETTLING, ids=[case[1] for case in SETTLING])
def test_acting_state_settles_once_transition_time_has_passed(setup: tuple[str, ...], act: str, acting: str,
                                                              settled: str) -> None:
    state = quiet_line()
    for step in setup:
        state = run(send(state, action("conveyor", step)), 2)
    state = send(state, action("conveyor", act))
    entered = state.time
    assert status(state, "conveyor") == acting
    state = run(state, 0.9, dt=0.1)
    assert status(state, "conveyor") == acting
    state = run(state, 0.1, dt=0.1)
    assert status(state, "conveyor") in (settled, "suspended" if settled == "execute" else settled)
    assert state["/stations/conveyor/since"] == pytest.approx(entered + 1.0)


def test_hold_and_unhold_settle_after_transition_time() -> None:
    state = running(quiet_line(), ["warehouse"])  # a source: it executes without input
    state = send(state, action("warehouse", "hold"))
    state = run(state, 1.5)
    assert status(state, "warehouse") == "holding"
    state = run(state, 0.5)
    assert status(state, "warehouse") == "held"
    state = run(send(state, action("warehouse", "unhold")), 2)
    assert status(state, "warehouse") == "execute"


def test_negative_time_step_is_refused() -> None:
    with pytest.raises(ValueError):
        advance(quiet_line(), -0.1)


# --- production ------------------------------------------------------------------------------------


def test_running_line_produces_finished_parts_within_a_few_minutes() -> None:
    state = run(running(quiet_line()), 300)
    assert counter(state, "vision", "produced") >= 2
    for station in STATIONS:
        produced = counter(state, station, "produced")
        assert produced == counter(state, station, "good") + counter(state, station, "scrap")
    for link in state.scenario.links:
        assert 0 <= buffer(state, link.id) <= link.capacity


def test_every_good_part_is_pushed_downstream_and_every_started_cycle_takes_one_from_upstream() -> None:
    state = run(running(quiet_line()), 300)
    for link in state.scenario.links:
        taken = counter(state, link.target, "produced") + (state[f"/stations/{link.target}/cycle_started"] is not None)
        assert buffer(state, link.id) == counter(state, link.source, "good") - taken, link.id


def test_source_station_fills_its_buffer_then_is_blocked_and_suspended() -> None:
    state = running(quiet_line(), ["warehouse"])
    state = run_until(state, lambda s: status(s, "warehouse") == "suspended", 120)
    assert buffer(state, "blanks") == 4  # the link's capacity
    assert counter(state, "warehouse", "good") == 4
    assert state["/stations/warehouse/cycle_started"] is None
    state = run(state, 60)
    assert counter(state, "warehouse", "good") == 4 and status(state, "warehouse") == "suspended"


def test_station_without_input_is_starved_and_suspended_until_a_part_arrives() -> None:
    state = running(quiet_line(), ["lathe"])
    state = run(state, 60)
    assert status(state, "lathe") == "suspended" and counter(state, "lathe", "produced") == 0
    state = running(state, ["warehouse"])
    state = run_until(state, lambda s: status(s, "lathe") == "execute", 30)
    assert state["/stations/lathe/cycle_started"] == state.time
    assert buffer(state, "blanks") == counter(state, "warehouse", "good") - 1  # the lathe took one blank


def test_blocked_station_resumes_when_downstream_takes_a_part() -> None:
    state = run_until(running(quiet_line(), ["warehouse"]), lambda s: status(s, "warehouse") == "suspended", 120)
    state = running(state, ["lathe"])
    state = run_until(state, lambda s: status(s, "warehouse") == "execute", 10)
    assert buffer(state, "blanks") == 3


ONE_STATION: dict[str, Any] = {
    "id": "scrap-check", "seed": 11,
    "stations": [{"id": "press", "cycle_s": 1, "transition_s": 0, "scrap_rate": 0.08,
                  "parameters": {"melt_temperature": {"unit": "°C", "min": 180, "max": 300, "default": 230,
                                                      "optimal": [220, 245]}}}],
}


def scrap_after(cycles: int, melt_temperature: float) -> int:
    state = send(initial_state(parse_scenario(ONE_STATION)), parameter("press", "melt_temperature",
                                                                       melt_temperature))
    state = run(running(state, ["press"]), cycles, dt=1.0)
    return counter(state, "press", "scrap")


def test_scrap_rises_when_a_parameter_leaves_its_optimal_band() -> None:
    inside, too_cold, too_hot = scrap_after(400, 230), scrap_after(400, 200), scrap_after(400, 280)
    assert 10 <= inside <= 60  # about 8 % of ~400 cycles
    assert too_cold >= 3 * inside and too_hot >= 3 * inside  # five times the rate outside the band


# --- interlock trips -----------------------------------------------------------------------------------


def test_opening_the_press_guard_trips_an_executing_robot_to_held_until_unheld_with_the_guard_closed() -> None:
    state = run_until(running(quiet_line()), lambda s: status(s, "robot") == "execute", 300)
    state, _ = advance(send(state, parameter("press", "guard_open", True)), 0.5)
    assert status(state, "robot") == "holding"
    assert state["/stations/robot/cycle_started"] is None
    state = run(state, 2)
    assert status(state, "robot") == "held"
    with pytest.raises(Conflict, match="robot_press_guard"):
        send(state, action("robot", "unhold"))
    state = send(send(state, parameter("press", "guard_open", False)), action("robot", "unhold"))
    state = run(state, 2)
    assert status(state, "robot") in ("execute", "suspended")


def test_press_mid_cycle_is_held_once_the_robot_has_aborted() -> None:
    state = run_until(running(quiet_line()), lambda s: s["/stations/press/cycle_started"] is not None, 400)
    state = run(send(state, action("robot", "abort")), 1.5)
    assert status(state, "robot") == "aborting" and status(state, "press") == "execute"
    state = run(state, 1.0)
    assert status(state, "robot") == "aborted" and status(state, "press") == "holding"
    assert state["/stations/press/cycle_started"] is None


# --- faults and determinism --------------------------------------------------------------------------


def first_faults(seed: int, minutes: int = 20) -> list[tuple[float, str]]:
    """(line time, alarm path) of every alarm raised while the whole line runs at 30 faults per hour."""
    state = running(initial_state(shipped_line(seed=seed, fault_rate_per_hour=30)))
    faults: list[tuple[float, str]] = []
    for _ in range(minutes * 60):
        state, changes = advance(state, 1.0)
        faults += [(state.time, path) for path, value in changes.items() if path.endswith("/active") and value]
    return faults


def test_random_faults_raise_alarms_at_the_configured_rate() -> None:
    faults = first_faults(seed=3)
    assert faults, "no fault in 20 minutes at 30 faults per hour per station"
    assert all(path.split("/")[4] in shipped_line().stations[path.split("/")[2]].alarms for _, path in faults)


def test_same_seed_gives_the_same_faults_and_different_seeds_different_fault_timing() -> None:
    assert first_faults(seed=3) == first_faults(seed=3)
    assert first_faults(seed=3) != first_faults(seed=4)


def test_no_random_faults_at_rate_zero() -> None:
    state = run(running(quiet_line()), 600, dt=1.0)
    assert not any(value for path, value in state.values.items() if path.endswith("/active"))


STEP = st.one_of(
    st.sampled_from([0.1, 0.5, 1.0, 5.0, 20.0]),
    st.builds(action, st.sampled_from(STATIONS), st.sampled_from([a.value for a in Action])),
    st.builds(parameter, st.sampled_from(["press", "lathe"]), st.sampled_from(["guard_open", "spindle_speed"]),
              st.one_of(st.booleans(), st.integers(200, 4000))),
    st.builds(lambda s: {"kind": "inject_fault", "station": s, "code": "C-601"}, st.just("conveyor")),
    st.builds(lambda r: {"kind": "set_fault_rate", "rate_per_hour": r}, st.sampled_from([0, 10, 60])),
)


def replay(start: LineState, steps: list[Any]) -> LineState:
    state = start
    for step in steps:
        if isinstance(step, float):
            state, _ = advance(state, step)
            continue
        with contextlib.suppress(DomainError):
            state, _ = execute(state, TEACHER, parse_command(step))
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, max_size=40), st.integers(0, 2**32))
def test_same_commands_at_the_same_times_from_the_same_seed_give_identical_states(steps: list[Any],
                                                                                  seed: int) -> None:
    start = running(initial_state(shipped_line(seed=seed)))
    first, second = replay(start, steps), replay(start, steps)
    assert first.values == second.values
    assert (first.revision, first.time, first.rng) == (second.revision, second.time, second.rng)
    assert first.document() == second.document()


def test_ready_helper_leaves_every_station_idle() -> None:
    assert all(status(ready(quiet_line()), station) == "idle" for station in STATIONS)
