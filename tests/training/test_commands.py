"""Commands on the line: PackML transitions, parameter checks, who may do what, interlocks, alarms."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.errors import Conflict, DomainError, PermissionDenied, ValidationError
from classroom.roles import Role
from classroom.training.commands import Actor, execute, parse_command
from classroom.training.packml import Action, Status
from classroom.training.state import LineState
from tests.training.line_helpers import (
    STATIONS,
    TEACHER,
    action,
    parameter,
    quiet_line,
    ready,
    run,
    running,
    send,
    status,
)

CLASSROOM = Actor("east", Role.CLASSROOM, "nujiang-1")
OTHER_CLASSROOM = Actor("east", Role.CLASSROOM, "lijiang-2")


def with_status(state: LineState, station: str, new: Status) -> LineState:
    """The state with one station put straight into ``new`` (to test the rule for every state)."""
    values = {**state.values, f"/stations/{station}/status": new.value}
    return dataclasses.replace(state, values=values)


def refused(state: LineState, actor: Actor, wire: dict[str, Any], error: type[DomainError]) -> DomainError:
    """Assert that the command is refused with ``error`` and that the state is left exactly as it was."""
    values, revision = dict(state.values), state.revision
    with pytest.raises(error) as caught:
        execute(state, actor, parse_command(wire))
    assert dict(state.values) == values and state.revision == revision
    return caught.value


def assign(state: LineState, station: str, classroom: str | None = CLASSROOM.subject) -> LineState:
    return send(state, {"kind": "assign_station", "station": station, "classroom": classroom})


# --- PackML transitions ------------------------------------------------------------------------

S = Status
STOPPABLE = {S.IDLE, S.STARTING, S.EXECUTE, S.HOLDING, S.HELD, S.UNHOLDING, S.SUSPENDED, S.RESETTING}
LEGAL: dict[Action, tuple[set[Status], Status]] = {
    Action.RESET: ({S.STOPPED}, S.RESETTING),
    Action.START: ({S.IDLE}, S.STARTING),
    Action.STOP: (STOPPABLE, S.STOPPING),
    Action.HOLD: ({S.EXECUTE, S.SUSPENDED}, S.HOLDING),
    Action.UNHOLD: ({S.HELD}, S.UNHOLDING),
    Action.ABORT: (set(S) - {S.ABORTING, S.ABORTED, S.CLEARING}, S.ABORTING),
    Action.CLEAR: ({S.ABORTED}, S.CLEARING),
}
TRANSITIONS = [(status, act) for act in Action for status in Status]


@pytest.mark.parametrize(("current", "act"), TRANSITIONS, ids=[f"{a.value}-from-{s.value}" for s, a in TRANSITIONS])
def test_station_action_follows_the_packml_transition_table(current: Status, act: Action) -> None:
    state = with_status(quiet_line(), "conveyor", current)
    legal_in, target = LEGAL[act]
    if current in legal_in:
        after = send(state, action("conveyor", act.value))
        assert status(after, "conveyor") == target.value
        assert after.revision == state.revision + 1
    else:
        error = refused(state, TEACHER, action("conveyor", act.value), Conflict)
        assert f"conveyor cannot {act.value} while {current.value}" in str(error)


def test_unknown_action_and_unknown_station_are_bad_requests() -> None:
    state = quiet_line()
    with pytest.raises(ValidationError, match="unknown action"):
        parse_command(action("press", "jog"))
    refused(state, TEACHER, action("oven", "reset"), ValidationError)


# --- parameters ----------------------------------------------------------------------------------


def test_teacher_sets_a_parameter_within_range() -> None:
    state = quiet_line()
    after = send(state, parameter("lathe", "spindle_speed", 2000))
    assert after["/stations/lathe/parameters/spindle_speed"] == 2000
    assert after.revision == state.revision + 1


@pytest.mark.parametrize(("station", "name", "value", "problem"), [
    ("lathe", "spindle_speed", 199, "within 200..4000 rpm"),
    ("lathe", "spindle_speed", 4001, "within 200..4000 rpm"),
    ("lathe", "feed_rate", 0.6, "within 0.05..0.5 mm/rev"),
    ("press", "clamp_force", -1, "within 200..1500 kN"),
    ("press", "melt_temperature", 350, "within 180..300 °C"),
    ("lathe", "spindle_speed", "fast", "takes a number"),
    ("lathe", "spindle_speed", True, "takes a number"),
    ("lathe", "spindle_speed", None, "takes a number"),
    ("lathe", "spindle_speed", math.nan, "takes a number"),
    ("lathe", "spindle_speed", [1800], "takes a number"),
    ("press", "guard_open", 1, "takes true or false"),
    ("press", "guard_open", "true", "takes true or false"),
    ("press", "nozzle_size", 3, "has no parameter"),
    ("oven", "temperature", 3, "no station"),
])
def test_parameter_of_wrong_type_or_out_of_range_is_refused(station: str, name: str, value: Any,
                                                             problem: str) -> None:
    error = refused(quiet_line(), TEACHER, parameter(station, name, value), ValidationError)
    assert problem in str(error)


def test_range_limits_themselves_are_accepted() -> None:
    state = send(quiet_line(), parameter("vision", "reject_threshold", 50))
    state = send(state, parameter("vision", "reject_threshold", 99))
    assert state["/stations/vision/parameters/reject_threshold"] == 99


@pytest.mark.parametrize("wire", [
    {"kind": "teleport", "station": "press"},
    {"station": "press", "action": "start"},
    {"kind": "station", "action": "start"},
    {"kind": "station", "station": 3, "action": "start"},
    {"kind": "set_fault_rate", "rate_per_hour": True},
    {"kind": "set_fault_rate", "rate_per_hour": "2"},
    {"kind": "assign_station", "station": "press", "classroom": ""},
    {"kind": "acknowledge_alarm", "station": "press"},
])
def test_malformed_command_is_refused_before_it_reaches_the_line(wire: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_command(wire)


def test_fault_rate_outside_zero_to_sixty_per_hour_is_refused() -> None:
    state = quiet_line()
    refused(state, TEACHER, {"kind": "set_fault_rate", "rate_per_hour": 61}, ValidationError)
    refused(state, TEACHER, {"kind": "set_fault_rate", "rate_per_hour": -1}, ValidationError)
    assert send(state, {"kind": "set_fault_rate", "rate_per_hour": 12})["/fault_rate_per_hour"] == 12


# --- who may do what -------------------------------------------------------------------------------


def test_classroom_operates_its_assigned_station() -> None:
    state = assign(quiet_line(), "press")
    state = send(state, parameter("press", "cooling_time", 18), CLASSROOM)
    state = send(state, action("press", "reset"), CLASSROOM)
    assert state["/stations/press/parameters/cooling_time"] == 18
    assert status(state, "press") == "resetting"


def test_classroom_cannot_operate_unassigned_station() -> None:
    state = assign(quiet_line(), "press")
    for wire in (action("lathe", "reset"), parameter("lathe", "spindle_speed", 2000),
                 {"kind": "acknowledge_alarm", "station": "lathe", "code": "L-201"}):
        error = refused(state, CLASSROOM, wire, PermissionDenied)
        assert "not assigned to nujiang-1" in str(error)


def test_classroom_cannot_operate_a_station_assigned_to_another_classroom() -> None:
    state = assign(quiet_line(), "press")
    refused(state, OTHER_CLASSROOM, action("press", "reset"), PermissionDenied)


def test_unassigning_a_station_takes_it_away_from_the_classroom() -> None:
    state = assign(assign(quiet_line(), "press"), "press", None)
    assert state["/stations/press/assigned"] is None
    refused(state, CLASSROOM, action("press", "reset"), PermissionDenied)


@pytest.mark.parametrize("role", [Role.STUDENT, Role.ADMIN])
def test_students_and_admins_watch_and_cannot_operate(role: Role) -> None:
    watcher = Actor("east", role, CLASSROOM.subject)
    state = assign(quiet_line(), "press")  # even a station assigned to the same subject
    for wire in (action("press", "reset"), parameter("press", "clamp_force", 900),
                 {"kind": "set_fault_rate", "rate_per_hour": 1},
                 {"kind": "assign_station", "station": "press", "classroom": "x"}):
        error = refused(state, watcher, wire, PermissionDenied)
        assert "watches the line" in str(error)


@pytest.mark.parametrize("wire", [
    {"kind": "inject_fault", "station": "press", "code": "P-504"},
    {"kind": "assign_station", "station": "press", "classroom": "nujiang-1"},
    {"kind": "assign_station", "station": "lathe", "classroom": "nujiang-1"},
    {"kind": "set_fault_rate", "rate_per_hour": 5},
])
def test_teacher_only_commands_are_refused_to_a_classroom_even_on_its_own_station(wire: dict[str, Any]) -> None:
    error = refused(assign(quiet_line(), "press"), CLASSROOM, wire, PermissionDenied)
    assert "only the teacher" in str(error)


def test_teacher_may_operate_every_station_without_an_assignment() -> None:
    state = quiet_line()
    for station in STATIONS:
        state = send(state, action(station, "reset"))
    assert all(status(state, station) == "resetting" for station in STATIONS)


# --- interlocks -------------------------------------------------------------------------------------


def test_robot_cannot_start_while_the_press_guard_is_open_and_can_once_it_is_closed() -> None:
    state = send(ready(quiet_line(), ["robot"]), parameter("press", "guard_open", True))
    error = refused(state, TEACHER, action("robot", "start"), Conflict)
    assert "interlock robot_press_guard" in str(error) and "guard is open" in str(error)
    state = send(state, parameter("press", "guard_open", False))
    assert status(send(state, action("robot", "start")), "robot") == "starting"


def test_interlock_also_blocks_a_classroom_operating_its_own_robot() -> None:
    state = assign(ready(quiet_line(), ["robot"]), "robot")
    state = send(state, parameter("press", "guard_open", True))
    refused(state, CLASSROOM, action("robot", "start"), Conflict)


def test_held_robot_cannot_unhold_while_the_press_guard_is_open() -> None:
    state = with_status(send(quiet_line(), parameter("press", "guard_open", True)), "robot", Status.HELD)
    refused(state, TEACHER, action("robot", "unhold"), Conflict)
    state = send(state, parameter("press", "guard_open", False))
    assert status(send(state, action("robot", "unhold")), "robot") == "unholding"


def test_interlock_does_not_block_stopping_or_aborting() -> None:
    state = with_status(send(quiet_line(), parameter("press", "guard_open", True)), "robot", Status.HELD)
    assert status(send(state, action("robot", "stop")), "robot") == "stopping"
    assert status(send(state, action("robot", "abort")), "robot") == "aborting"


def test_press_cannot_start_while_the_robot_is_aborted() -> None:
    state = with_status(ready(quiet_line(), ["press"]), "robot", Status.ABORTED)
    error = refused(state, TEACHER, action("press", "start"), Conflict)
    assert "press_robot_aborted" in str(error)


def test_machine_cannot_start_with_its_own_door_open() -> None:
    state = send(ready(quiet_line(), ["lathe", "mill"]), parameter("lathe", "door_open", True))
    refused(state, TEACHER, action("lathe", "start"), Conflict)
    assert status(send(state, action("mill", "start")), "mill") == "starting"  # the mill's door is shut


# --- alarms -------------------------------------------------------------------------------------------


def inject(state: LineState, station: str, code: str) -> LineState:
    return send(state, {"kind": "inject_fault", "station": station, "code": code})


def acknowledge(state: LineState, station: str, code: str, actor: Actor = TEACHER) -> LineState:
    return send(state, {"kind": "acknowledge_alarm", "station": station, "code": code}, actor)


def test_alarm_must_be_acknowledged_before_reset() -> None:
    state = inject(quiet_line(), "press", "P-503")
    assert status(state, "press") == "stopped"  # a medium alarm holds, and a stopped station cannot hold
    assert state["/stations/press/alarms/P-503/active"] is True
    assert state["/stations/press/alarms/P-503/acknowledged"] is False
    error = refused(state, TEACHER, action("press", "reset"), Conflict)
    assert "acknowledge them first" in str(error)
    state = acknowledge(state, "press", "P-503")
    assert state["/stations/press/alarms/P-503/active"] is False
    assert status(send(state, action("press", "reset")), "press") == "resetting"


def test_alarm_must_be_acknowledged_before_start() -> None:
    state = inject(ready(quiet_line(), ["conveyor"]), "conveyor", "C-603")
    assert status(state, "conveyor") == "idle"  # a low alarm cannot hold an idle station
    refused(state, TEACHER, action("conveyor", "start"), Conflict)
    state = acknowledge(state, "conveyor", "C-603")
    assert status(send(state, action("conveyor", "start")), "conveyor") == "starting"


def test_severe_alarm_aborts_and_must_be_acknowledged_before_clear() -> None:
    state = inject(running(quiet_line(), ["warehouse"]), "warehouse", "W-103")
    assert status(state, "warehouse") == "aborting"
    state = run(state, 5)
    assert status(state, "warehouse") == "aborted"
    refused(state, TEACHER, action("warehouse", "clear"), Conflict)
    state = send(acknowledge(state, "warehouse", "W-103"), action("warehouse", "clear"))
    assert status(state, "warehouse") == "clearing"


def test_minor_alarm_holds_and_must_be_acknowledged_before_unhold() -> None:
    state = inject(running(quiet_line(), ["warehouse"]), "warehouse", "W-102")
    assert status(state, "warehouse") == "holding"
    state = run(state, 5)
    assert status(state, "warehouse") == "held"
    refused(state, TEACHER, action("warehouse", "unhold"), Conflict)
    state = send(acknowledge(state, "warehouse", "W-102"), action("warehouse", "unhold"))
    assert status(state, "warehouse") == "unholding"


def test_classroom_acknowledges_alarms_on_its_station() -> None:
    state = inject(assign(quiet_line(), "mill"), "mill", "M-304")
    state = acknowledge(state, "mill", "M-304", CLASSROOM)
    assert state["/stations/mill/alarms/M-304/acknowledged"] is True


def test_acknowledging_twice_or_an_unknown_alarm_is_refused() -> None:
    state = acknowledge(inject(quiet_line(), "mill", "M-304"), "mill", "M-304")
    refused(state, TEACHER, {"kind": "acknowledge_alarm", "station": "mill", "code": "M-304"}, Conflict)
    refused(state, TEACHER, {"kind": "acknowledge_alarm", "station": "mill", "code": "M-999"}, ValidationError)
    refused(state, TEACHER, {"kind": "inject_fault", "station": "mill", "code": "P-501"}, ValidationError)


# --- revisions ----------------------------------------------------------------------------------------


def test_accepted_command_gets_the_next_revision_and_reports_exactly_what_changed() -> None:
    state = quiet_line()
    after, changes = execute(state, TEACHER, parse_command(parameter("mill", "depth_of_cut", 1.2)))
    assert after.revision == state.revision + 1
    assert changes == {"/stations/mill/parameters/depth_of_cut": 1.2}
    assert {p for p in after.values if after.values[p] != state.values[p]} == set(changes)


def test_command_that_changes_nothing_keeps_the_revision() -> None:
    state = quiet_line()
    after, changes = execute(state, TEACHER, parse_command(parameter("mill", "coolant", True)))
    assert changes == {} and after.revision == state.revision


STATION = st.sampled_from(STATIONS)
WIRE = st.one_of(
    st.builds(action, STATION, st.sampled_from([a.value for a in Action])),
    st.builds(parameter, STATION, st.sampled_from(["speed", "spindle_speed", "guard_open", "door_open"]),
              st.one_of(st.integers(-10, 5000), st.booleans(), st.floats(allow_nan=True))),
    st.builds(lambda s, c: {"kind": "inject_fault", "station": s, "code": c}, STATION,
              st.sampled_from(["P-501", "P-504", "R-401", "C-601"])),
    st.builds(lambda s, c: {"kind": "acknowledge_alarm", "station": s, "code": c}, STATION,
              st.sampled_from(["P-501", "P-504", "R-401", "C-601"])),
    st.builds(lambda s: {"kind": "assign_station", "station": s, "classroom": CLASSROOM.subject}, STATION),
)
ACTOR = st.sampled_from([TEACHER, CLASSROOM, OTHER_CLASSROOM, Actor("east", Role.STUDENT, "bob"),
                         Actor("east", Role.ADMIN, "root")])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ACTOR, WIRE), max_size=30))
def test_every_command_either_changes_nothing_or_moves_one_revision_with_its_changes(
    commands: list[tuple[Actor, dict[str, Any]]],
) -> None:
    state = quiet_line()
    for actor, wire in commands:
        values = dict(state.values)
        try:
            after, changes = execute(state, actor, parse_command(wire))
        except DomainError:
            assert dict(state.values) == values
            continue
        assert dict(state.values) == values  # the old state is never mutated
        assert after.revision == state.revision + (1 if changes else 0)
        assert dict(after.values) == {**values, **changes}
        assert all(values[path] != value or type(values[path]) is not type(value) for path, value in changes.items())
        state = after


def test_the_example_in_docs_scenarios_runs_as_described() -> None:
    state = assign(quiet_line(), "press")
    state = ready(state, ["robot", "press"])
    state = send(state, parameter("press", "guard_open", True), CLASSROOM)
    error = refused(state, CLASSROOM, action("press", "start"), Conflict)
    assert "interlock press_guard" in str(error)
    refused(state, TEACHER, action("robot", "start"), Conflict)
    state = send(state, parameter("press", "guard_open", False), CLASSROOM)
    state = run(send(send(state, action("robot", "start")), action("press", "start"), CLASSROOM), 6)
    state = inject(state, "press", "P-502")
    assert status(state, "press") == "aborting"
    state = run(state, 5)
    state = send(acknowledge(state, "press", "P-502", CLASSROOM), action("press", "clear"), CLASSROOM)
    state = send(run(state, 5), action("press", "reset"), CLASSROOM)
    state = send(run(state, 5), action("press", "start"), CLASSROOM)
    assert status(state, "press") == "starting"
