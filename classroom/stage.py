"""The stage of a live lesson: raised hands and the classrooms brought on stage.

Pure decisions over a frozen ``Stage``; each returns the new stage or raises a
``DomainError`` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from classroom.errors import Conflict, PermissionDenied, ValidationError
from classroom.roles import Role

__all__ = ["Stage", "invite", "leave_lesson", "lower_hand", "raise_hand", "remove"]


@dataclass(frozen=True)
class Stage:
    capacity: int = 2
    hands: tuple[str, ...] = ()  # classroom subjects, in the order they raised
    on_stage: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"capacity": self.capacity, "hands": list(self.hands), "on_stage": list(self.on_stage)}


def raise_hand(stage: Stage, role: Role, subject: str) -> Stage:
    if role is not Role.CLASSROOM:
        raise PermissionDenied("only classrooms raise their hand")
    if subject in stage.on_stage:
        raise Conflict(f"{subject} is already on stage")
    if subject in stage.hands:
        return stage
    return replace(stage, hands=stage.hands + (subject,))


def lower_hand(stage: Stage, subject: str) -> Stage:
    return replace(stage, hands=tuple(h for h in stage.hands if h != subject))


def invite(stage: Stage, role: Role, subject: str, present: frozenset[str]) -> Stage:
    """The teacher brings a present classroom on stage (at most ``capacity``)."""
    if role is not Role.TEACHER:
        raise PermissionDenied("only the teacher invites to the stage")
    if subject not in present:
        raise ValidationError(f"{subject} is not a classroom in this lesson")
    if subject in stage.on_stage:
        return stage
    if len(stage.on_stage) >= stage.capacity:
        raise Conflict(f"the stage is full ({stage.capacity} classrooms)")
    return replace(lower_hand(stage, subject), on_stage=stage.on_stage + (subject,))


def remove(stage: Stage, role: Role, actor: str, subject: str) -> Stage:
    """The teacher removes a classroom, or a classroom leaves the stage itself."""
    if role is not Role.TEACHER and actor != subject:
        raise PermissionDenied("only the teacher removes others from the stage")
    if subject not in stage.on_stage:
        raise Conflict(f"{subject} is not on stage")
    return replace(stage, on_stage=tuple(s for s in stage.on_stage if s != subject))


def leave_lesson(stage: Stage, subject: str) -> Stage:
    """A classroom's last connection closed: it leaves the stage and lowers its hand."""
    return replace(lower_hand(stage, subject), on_stage=tuple(s for s in stage.on_stage if s != subject))
