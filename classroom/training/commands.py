"""Commands on the training line and the rules that accept or reject them.

``execute(state, actor, command)`` returns the new state and the changed paths, or
raises a DomainError with the reason and changes nothing:

- PermissionDenied: the role may not send it, or a classroom's station is not its own;
- ValidationError: unknown station/parameter/alarm, wrong type, out of range;
- Conflict: an illegal PackML transition, an active interlock, an active alarm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from classroom.errors import Conflict, PermissionDenied, ValidationError
from classroom.principal import Principal
from classroom.roles import Role
from classroom.training.packml import Action, Status, next_status
from classroom.training.rules import active_alarms, blocking_interlock
from classroom.training.scenario import Scalar, StationSpec
from classroom.training.state import Draft, LineState

__all__ = [
    "AcknowledgeAlarm",
    "Actor",
    "AssignStation",
    "Command",
    "InjectFault",
    "SetFaultRate",
    "SetParameter",
    "StationAction",
    "execute",
    "parse_command",
]


Actor = Principal
"""Who sends a command: a principal (stations are assigned to classrooms by subject: a lesson's room
keeps a classroom's name for the first school that brings it, for the room's life)."""


@dataclass(frozen=True)
class SetParameter:
    station: str
    name: str
    value: Scalar


@dataclass(frozen=True)
class StationAction:
    station: str
    action: Action


@dataclass(frozen=True)
class AcknowledgeAlarm:
    station: str
    code: str


@dataclass(frozen=True)
class InjectFault:
    station: str
    code: str


@dataclass(frozen=True)
class AssignStation:
    station: str
    classroom: str | None


@dataclass(frozen=True)
class SetFaultRate:
    rate_per_hour: float


Command = SetParameter | StationAction | AcknowledgeAlarm | InjectFault | AssignStation | SetFaultRate
TEACHER_ONLY = (InjectFault, AssignStation, SetFaultRate)


# --- wire format ------------------------------------------------------------------------------


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in ((int, float), int, float)):
        raise ValidationError(f"{key} is missing or has the wrong type")
    return value


def _parse_action(data: Mapping[str, Any]) -> StationAction:
    action = _field(data, "action", str)
    if action not in {a.value for a in Action}:
        raise ValidationError(f"unknown action {action[:20]!r}")
    return StationAction(_field(data, "station", str), Action(action))


def _parse_assign(data: Mapping[str, Any]) -> AssignStation:
    classroom = data.get("classroom")
    if classroom is not None and (not isinstance(classroom, str) or not 0 < len(classroom) <= 128):
        raise ValidationError("classroom must be a subject or null")
    return AssignStation(_field(data, "station", str), classroom)


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Command]] = {
    "set_parameter": lambda d: SetParameter(_field(d, "station", str), _field(d, "name", str), d.get("value")),
    "station": _parse_action,
    "acknowledge_alarm": lambda d: AcknowledgeAlarm(_field(d, "station", str), _field(d, "code", str)),
    "inject_fault": lambda d: InjectFault(_field(d, "station", str), _field(d, "code", str)),
    "assign_station": _parse_assign,
    "set_fault_rate": lambda d: SetFaultRate(float(_field(d, "rate_per_hour", (int, float)))),
}
COMMAND_KINDS = frozenset(_PARSERS)


def parse_command(data: Mapping[str, Any]) -> Command:
    """A command from its JSON form ``{"kind": ..., ...}``; raises ValidationError."""
    kind = data.get("kind")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ValidationError(f"unknown command kind {str(kind)[:30]!r}")
    return parser(data)


# --- rules --------------------------------------------------------------------------------------


def execute(state: LineState, actor: Actor, command: Command) -> tuple[LineState, dict[str, Scalar]]:
    _authorise(state, actor, command)
    draft = Draft(state)
    _HANDLERS[type(command)](draft, command)
    return draft.commit()


def _spec(draft: Draft, station_id: str) -> StationSpec:
    spec = draft.scenario.stations.get(station_id)
    if spec is None:
        raise ValidationError(f"no station {station_id[:40]!r}")
    return spec


def _authorise(state: LineState, actor: Actor, command: Command) -> None:
    if actor.role is Role.TEACHER:
        return
    if actor.role is not Role.CLASSROOM:
        raise PermissionDenied(f"a {actor.role.value} watches the line and cannot operate it")
    if isinstance(command, TEACHER_ONLY):
        raise PermissionDenied("only the teacher may do that")
    station = getattr(command, "station", "")
    assigned = state.values.get(f"/stations/{station}/assigned", _NOT_A_STATION)
    if assigned is _NOT_A_STATION:
        raise ValidationError(f"no station {station[:40]!r}")
    if assigned != actor.subject:
        raise PermissionDenied(f"station {station} is not assigned to {actor.subject}")


_NOT_A_STATION = object()


def _set_parameter(draft: Draft, command: SetParameter) -> None:
    spec = _spec(draft, command.station)
    parameter = spec.parameters.get(command.name)
    if parameter is None:
        raise ValidationError(f"station {spec.id} has no parameter {command.name[:40]!r}")
    draft.set_station(spec.id, f"parameters/{command.name}", parameter.check(command.value))


def _station_action(draft: Draft, command: StationAction) -> None:
    spec = _spec(draft, command.station)
    status = Status(draft.station(spec.id, "status"))
    target = next_status(status, command.action)
    if target is None:
        raise Conflict(f"{spec.id} cannot {command.action.value} while {status.value}")
    lock = blocking_interlock(draft, spec.id, command.action)
    if lock is not None:
        raise Conflict(f"interlock {lock.id}: {lock.reason}")
    if command.action in (Action.RESET, Action.START, Action.UNHOLD, Action.CLEAR) and active_alarms(draft, spec):
        raise Conflict(f"{spec.id} has active alarms: acknowledge them first")
    draft.set_status(spec.id, target)
    if target is not Status.STARTING:
        draft.set_station(spec.id, "cycle_started", None)


def _acknowledge(draft: Draft, command: AcknowledgeAlarm) -> None:
    spec = _spec(draft, command.station)
    if command.code not in spec.alarms:
        raise ValidationError(f"station {spec.id} has no alarm {command.code[:20]!r}")
    base = f"alarms/{command.code}"
    if draft.station(spec.id, f"{base}/acknowledged"):
        raise Conflict(f"alarm {command.code} is already acknowledged")
    draft.set_station(spec.id, f"{base}/acknowledged", True)
    draft.set_station(spec.id, f"{base}/active", False)  # the fault's cause is cleared with it


def _inject(draft: Draft, command: InjectFault) -> None:
    spec = _spec(draft, command.station)
    if command.code not in spec.alarms:
        raise ValidationError(f"station {spec.id} has no alarm {command.code[:20]!r}")
    raise_alarm(draft, spec, command.code)


def raise_alarm(draft: Draft, spec: StationSpec, code: str) -> None:
    """An alarm goes active and unacknowledged; severe ones abort the station, others hold it."""
    draft.set_station(spec.id, f"alarms/{code}/active", True)
    draft.set_station(spec.id, f"alarms/{code}/acknowledged", False)
    status = Status(draft.station(spec.id, "status"))
    severe = spec.alarms[code].severity in ("high", "critical")
    action = Action.ABORT if severe else Action.HOLD
    target = next_status(status, action)
    if target is not None:
        draft.set_status(spec.id, target)
        draft.set_station(spec.id, "cycle_started", None)


def _assign(draft: Draft, command: AssignStation) -> None:
    spec = _spec(draft, command.station)
    draft.set_station(spec.id, "assigned", command.classroom)


def _fault_rate(draft: Draft, command: SetFaultRate) -> None:
    if not 0 <= command.rate_per_hour <= 60:
        raise ValidationError("rate_per_hour must be within 0..60")
    draft.set("/fault_rate_per_hour", command.rate_per_hour)


_HANDLERS: dict[type, Callable[[Draft, Any], None]] = {
    SetParameter: _set_parameter,
    StationAction: _station_action,
    AcknowledgeAlarm: _acknowledge,
    InjectFault: _inject,
    AssignStation: _assign,
    SetFaultRate: _fault_rate,
}
