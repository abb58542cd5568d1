"""The seeded, deterministic simulation that advances the line by ``dt`` seconds.

Per station, in scenario order: acting states settle after ``transition_s``; a
station whose interlock trips while executing is held; an executing station starts a
cycle when every upstream buffer has a part and no downstream buffer is full
(otherwise it is suspended: starved or blocked) and finishes it after ``cycle_s``,
counting a good part (pushed downstream) or scrap; random faults arrive at the
line's rate per executing station and hour. The same state and ``dt`` always give
the same result: randomness comes from the state's own splitmix64 sequence.
"""

from __future__ import annotations

from classroom.training.commands import raise_alarm
from classroom.training.packml import Action, Status, after_acting
from classroom.training.rules import blocking_interlock
from classroom.training.scenario import Scalar, StationSpec
from classroom.training.state import Draft, LineState

__all__ = ["advance"]

ACTING = frozenset({Status.RESETTING, Status.STARTING, Status.HOLDING, Status.UNHOLDING, Status.STOPPING,
                    Status.ABORTING, Status.CLEARING})
SCRAP_OUTSIDE_OPTIMAL = 5.0  # scrap rate multiplier while a parameter is outside its optimal band


def advance(state: LineState, dt: float) -> tuple[LineState, dict[str, Scalar]]:
    if dt < 0:
        raise ValueError("time does not run backwards")
    draft = Draft(state)
    draft.time = round(state.time + dt, 6)
    for station_id in state.scenario.order:
        _step(draft, state.scenario.stations[station_id], dt)
    return draft.commit()


def _step(draft: Draft, spec: StationSpec, dt: float) -> None:
    status = Status(draft.station(spec.id, "status"))
    if status in ACTING:
        if draft.time - draft.station(spec.id, "since") >= spec.transition_s:
            draft.set_status(spec.id, after_acting(status))
        return
    if status in (Status.EXECUTE, Status.SUSPENDED):
        if blocking_interlock(draft, spec.id, Action.START) is not None:
            draft.set_status(spec.id, Status.HOLDING)
            draft.set_station(spec.id, "cycle_started", None)
            return
        _produce(draft, spec)
        if Status(draft.station(spec.id, "status")) is Status.EXECUTE:
            _maybe_fault(draft, spec, dt)


def _produce(draft: Draft, spec: StationSpec) -> None:
    started = draft.station(spec.id, "cycle_started")
    if started is not None and draft.time - started >= spec.cycle_s:
        _finish_cycle(draft, spec)
        started = None
    if started is None:
        if _can_start_cycle(draft, spec):
            for link in draft.scenario.upstream(spec.id):
                draft.set(f"/buffers/{link.id}", draft.get(f"/buffers/{link.id}") - 1)
            draft.set_station(spec.id, "cycle_started", draft.time)
            _set_running(draft, spec, Status.EXECUTE)
        else:
            _set_running(draft, spec, Status.SUSPENDED)


def _set_running(draft: Draft, spec: StationSpec, status: Status) -> None:
    if draft.station(spec.id, "status") != status.value:
        draft.set_status(spec.id, status)


def _can_start_cycle(draft: Draft, spec: StationSpec) -> bool:
    scenario = draft.scenario
    starved = any(draft.get(f"/buffers/{link.id}") <= 0 for link in scenario.upstream(spec.id))
    blocked = any(draft.get(f"/buffers/{link.id}") >= link.capacity for link in scenario.downstream(spec.id))
    return not starved and not blocked


def _finish_cycle(draft: Draft, spec: StationSpec) -> None:
    draft.set_station(spec.id, "counters/produced", draft.station(spec.id, "counters/produced") + 1)
    if draft.random() < min(1.0, spec.scrap_rate * _scrap_factor(draft, spec)):
        draft.set_station(spec.id, "counters/scrap", draft.station(spec.id, "counters/scrap") + 1)
    else:
        draft.set_station(spec.id, "counters/good", draft.station(spec.id, "counters/good") + 1)
        for link in draft.scenario.downstream(spec.id):
            draft.set(f"/buffers/{link.id}", draft.get(f"/buffers/{link.id}") + 1)
    draft.set_station(spec.id, "cycle_started", None)


def _scrap_factor(draft: Draft, spec: StationSpec) -> float:
    for parameter in spec.parameters.values():
        if parameter.optimal is not None:
            value = draft.station(spec.id, f"parameters/{parameter.name}")
            if not parameter.optimal[0] <= value <= parameter.optimal[1]:
                return SCRAP_OUTSIDE_OPTIMAL
    return 1.0


def _maybe_fault(draft: Draft, spec: StationSpec, dt: float) -> None:
    rate = draft.get("/fault_rate_per_hour")
    if not spec.alarms or rate <= 0:
        return
    if draft.random() < rate * dt / 3600.0:
        codes = sorted(spec.alarms)
        raise_alarm(draft, spec, codes[int(draft.random() * len(codes)) % len(codes)])
