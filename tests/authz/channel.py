"""The expected outcome of joining the lesson channel, and of every message on it, for every principal.

The lesson is the world's ``live`` one (east, taught by alice). Before each principal's turn the
line is fresh (``mould_machining_line``) with station ``lathe`` assigned to the classroom
``east-lab`` of east (which has been in the lesson and stepped out), the stage is empty, and the
west classroom ``nujiang-1`` is present as the bystander who would see any broadcast.

A refusal at the handshake is an HTTP status and error code (docs/protocol.md "Connecting"). A
message is answered with a reply ``type`` or ``error:<code>``; ``error:forbidden`` is the refusal,
any other error is a domain answer to an allowed sender (the state was not right for it). The
messages go in the order of MESSAGES on one connection, so each finds the state its predecessors
left (the teacher invites ``nujiang-1`` before removing it; a classroom raises its hand before
lowering it; the line is reloaded last).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from classroom.roles import Role
from server.live.channel.messages import TYPES
from tests.authz.principals import SUBJECTS, Principal

__all__ = ["ASSIGNED", "BYSTANDER", "FORBIDDEN", "MESSAGES", "ON_STAGE", "SCENARIO", "MessageCase", "Refusal",
           "admission"]

SCENARIO = "mould_machining_line"
ASSIGNED = ("lathe", SUBJECTS["classroom"])
"""The station assigned before each turn, and the classroom (of east) it is assigned to."""
BYSTANDER = "nujiang-1"
"""A west classroom in the lesson throughout: invited on stage by the teacher, sees every broadcast."""
FORBIDDEN = "error:forbidden"
TINY_SDP = "v=0\r\n"
"""Syntactically plausible, never negotiated: authorisation is decided before the SDP is read."""


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str


def admission(p: Principal | None) -> Refusal | None:
    """None: admitted. Checked in the order of server/live/channel/endpoint.py's ``_admit``."""
    if p is None:
        return Refusal(401, "unauthorized")
    if not p.covers:
        return Refusal(403, "forbidden")  # the token's scope is another lesson
    if p.role is Role.TEACHER and not p.is_("teacher"):
        return Refusal(403, "forbidden")  # a teacher joins only her own lesson (bob; alice of west)
    if p.kind == "classroom" and not p.east:
        return Refusal(409, "conflict")  # east's east-lab has been in this lesson: the name is taken
    return None


# --- who may send what (for admitted principals) ------------------------------------------------


def everyone(p: Principal) -> bool:
    return True


def teacher(p: Principal) -> bool:
    return p.is_("teacher")


def classroom(p: Principal) -> bool:
    return p.kind == "classroom"


def interactive(p: Principal) -> bool:
    return teacher(p) or classroom(p)


def chatter(p: Principal) -> bool:
    """Chat is for the people of the lesson: not for an admin watching it."""
    return p.kind != "admin"


def operator(p: Principal) -> bool:
    """The teacher, or the classroom the station is assigned to (the same principal, never a namesake)."""
    return teacher(p) or p.is_("classroom")


@dataclass(frozen=True)
class MessageCase:
    type: str
    allowed: Callable[[Principal], bool]
    ok: str
    """the outcome for an allowed sender: a reply type, or ``error:<code>`` when the state is not right"""
    body: Callable[[Principal], dict[str, Any]] = lambda _p: {}
    broadcast: str | None = None
    """what the bystander receives when the message is allowed (and never when it is refused)"""
    reply_by_type: bool = False
    """the reply carries no id (the training line answers it): wait for its type"""

    def message(self, p: Principal) -> dict[str, Any]:
        return {"type": self.type, **self.body(p)}

    def expected(self, p: Principal) -> str:
        return self.ok if self.allowed(p) else FORBIDDEN


def _on(**fields: Any) -> Callable[[Principal], dict[str, Any]]:
    return lambda _p: fields


MESSAGES: tuple[MessageCase, ...] = (
    # a classroom publishes only on stage (this one is not): a rule's refusal, also `forbidden`
    MessageCase("publish.offer", teacher, "error:invalid_sdp", _on(sdp=TINY_SDP, feeds={"0": "camera"})),
    MessageCase("publish.stop", interactive, "ack", _on(feed="camera")),
    MessageCase("subscribe.answer", everyone, "error:invalid_sdp", _on(sdp=TINY_SDP)),  # no offer is waiting
    MessageCase("subscribe.restart", everyone, "ack"),
    MessageCase("hand.raise", classroom, "ack", broadcast="stage"),  # the teacher has no hand to raise
    MessageCase("hand.lower", interactive, "ack"),  # (a classroom's lowering is broadcast, the teacher's no-op not)
    MessageCase("stage.invite", teacher, "ack", _on(subject=BYSTANDER), broadcast="stage.invited"),
    MessageCase("stage.remove", teacher, "ack", _on(subject=BYSTANDER), broadcast="stage"),
    MessageCase("stage.leave", interactive, "error:conflict"),  # nobody sending it is on stage
    MessageCase("chat.send", chatter, "ack", _on(text="hello"), broadcast="chat"),
    MessageCase("marker.add", teacher, "ack", _on(title="matrix")),
    MessageCase("media.video", everyone, "ack", _on(enabled=False)),
    MessageCase("ping", everyone, "pong"),
    MessageCase("training.command", operator, "training.accepted",  # a change that sets nothing in motion
                _on(command={"kind": "set_parameter", "station": ASSIGNED[0], "name": "door_open", "value": True})),
    # a revision the client cannot have: always answered with a snapshot
    MessageCase("training.resync", everyone, "training.snapshot", _on(revision=10**6), reply_by_type=True),
    MessageCase("training.load", teacher, "ack", _on(scenario=SCENARIO), broadcast="training.snapshot"),
)

assert {case.type for case in MESSAGES} == TYPES, "every message type of server/live/channel/messages.py has a case"


# --- the rules beyond the role, for east's east-lab on stage (the teacher invited it) -------------

ON_STAGE: tuple[tuple[dict[str, Any], str], ...] = (
    ({"type": "publish.offer", "sdp": TINY_SDP, "feeds": {"0": "camera", "1": "mic"}}, "error:invalid_sdp"),
    ({"type": "publish.offer", "sdp": TINY_SDP, "feeds": {"0": "screen"}}, FORBIDDEN),  # camera and mic only
    ({"type": "hand.lower", "subject": BYSTANDER}, FORBIDDEN),  # only the teacher lowers another's hand
    ({"type": "stage.remove", "subject": BYSTANDER}, FORBIDDEN),
    ({"type": "stage.leave"}, "ack"),
    ({"type": "publish.offer", "sdp": TINY_SDP, "feeds": {"0": "camera"}}, FORBIDDEN),  # off stage again
    ({"type": "stage.leave"}, "error:conflict"),
)
"""In order: each message, and the outcome it must have in the state the ones before it left."""
