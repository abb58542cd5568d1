"""PackML-style station states (ISA-TR88.00.02) and their legal transitions.

Commands move a station into an *acting* state (``starting``, ``stopping``...), which
the simulation completes after the station's ``transition_s`` into the next *wait*
or *execute* state.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ACTING", "COMMANDS", "Action", "Status", "after_acting", "next_status"]


class Status(str, Enum):
    STOPPED = "stopped"
    RESETTING = "resetting"
    IDLE = "idle"
    STARTING = "starting"
    EXECUTE = "execute"
    HOLDING = "holding"
    HELD = "held"
    UNHOLDING = "unholding"
    SUSPENDED = "suspended"
    STOPPING = "stopping"
    ABORTING = "aborting"
    ABORTED = "aborted"
    CLEARING = "clearing"


class Action(str, Enum):
    START = "start"
    STOP = "stop"
    RESET = "reset"
    HOLD = "hold"
    UNHOLD = "unhold"
    ABORT = "abort"
    CLEAR = "clear"


S = Status
_ANY_BUT_ABORT = frozenset(set(S) - {S.ABORTING, S.ABORTED, S.CLEARING})
_STOPPABLE = frozenset({S.IDLE, S.STARTING, S.EXECUTE, S.HOLDING, S.HELD, S.UNHOLDING, S.SUSPENDED, S.RESETTING})

COMMANDS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.RESET: (frozenset({S.STOPPED}), S.RESETTING),
    Action.START: (frozenset({S.IDLE}), S.STARTING),
    Action.STOP: (_STOPPABLE, S.STOPPING),
    Action.HOLD: (frozenset({S.EXECUTE, S.SUSPENDED}), S.HOLDING),
    Action.UNHOLD: (frozenset({S.HELD}), S.UNHOLDING),
    Action.ABORT: (_ANY_BUT_ABORT, S.ABORTING),
    Action.CLEAR: (frozenset({S.ABORTED}), S.CLEARING),
}
"""action -> (states it is legal in, the acting state it enters)."""

ACTING: dict[Status, Status] = {
    S.RESETTING: S.IDLE,
    S.STARTING: S.EXECUTE,
    S.HOLDING: S.HELD,
    S.UNHOLDING: S.EXECUTE,
    S.STOPPING: S.STOPPED,
    S.ABORTING: S.ABORTED,
    S.CLEARING: S.STOPPED,
}
"""acting state -> the state it settles in when its transition time has passed."""


def next_status(status: Status, action: Action) -> Status | None:
    """The state ``action`` moves ``status`` to, or None if it is not legal there."""
    legal, target = COMMANDS[action]
    return target if status in legal else None


def after_acting(status: Status) -> Status:
    return ACTING.get(status, status)
