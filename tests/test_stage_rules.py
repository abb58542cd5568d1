"""The stage rules (classroom/stage.py): pure decisions over a frozen Stage."""

from __future__ import annotations

import pytest

from classroom import stage as rules
from classroom.errors import Conflict, PermissionDenied, ValidationError
from classroom.roles import Role
from classroom.stage import Stage

PRESENT = frozenset({"a", "b", "c"})


# --- raising and lowering hands -------------------------------------------------------------


def test_a_classroom_raising_its_hand_joins_the_end_of_the_queue() -> None:
    stage = rules.raise_hand(rules.raise_hand(Stage(), Role.CLASSROOM, "b"), Role.CLASSROOM, "a")
    assert stage.hands == ("b", "a")
    assert stage.on_stage == ()


def test_raising_a_hand_twice_keeps_its_place_in_the_queue() -> None:
    stage = Stage(hands=("a", "b"))
    assert rules.raise_hand(stage, Role.CLASSROOM, "a") is stage


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT, Role.ADMIN])
def test_only_classrooms_raise_their_hand(role: Role) -> None:
    with pytest.raises(PermissionDenied):
        rules.raise_hand(Stage(), role, "alice")


def test_a_classroom_on_stage_cannot_raise_its_hand() -> None:
    with pytest.raises(Conflict):
        rules.raise_hand(Stage(on_stage=("a",)), Role.CLASSROOM, "a")


def test_lowering_a_hand_removes_only_that_hand() -> None:
    assert rules.lower_hand(Stage(hands=("a", "b", "c")), "b").hands == ("a", "c")


def test_lowering_a_hand_that_is_not_raised_changes_nothing() -> None:
    stage = Stage(hands=("a",), on_stage=("b",))
    assert rules.lower_hand(stage, "z") == stage


# --- inviting ---------------------------------------------------------------------------------


def test_the_teacher_invites_a_present_classroom_and_its_hand_is_lowered() -> None:
    stage = rules.invite(Stage(hands=("a", "b")), Role.TEACHER, "b", PRESENT)
    assert stage.on_stage == ("b",)
    assert stage.hands == ("a",)


def test_a_classroom_may_be_invited_without_raising_its_hand() -> None:
    assert rules.invite(Stage(), Role.TEACHER, "c", PRESENT).on_stage == ("c",)


def test_classrooms_are_on_stage_in_the_order_they_were_invited() -> None:
    stage = rules.invite(rules.invite(Stage(), Role.TEACHER, "b", PRESENT), Role.TEACHER, "a", PRESENT)
    assert stage.on_stage == ("b", "a")


@pytest.mark.parametrize("role", [Role.CLASSROOM, Role.STUDENT, Role.ADMIN])
def test_only_the_teacher_invites(role: Role) -> None:
    with pytest.raises(PermissionDenied):
        rules.invite(Stage(), role, "a", PRESENT)


def test_inviting_a_classroom_that_is_not_present_is_invalid() -> None:
    with pytest.raises(ValidationError):
        rules.invite(Stage(), Role.TEACHER, "zz", PRESENT)


def test_inviting_a_classroom_already_on_stage_changes_nothing_even_when_full() -> None:
    stage = Stage(capacity=2, on_stage=("a", "b"))
    assert rules.invite(stage, Role.TEACHER, "a", PRESENT) is stage


def test_the_stage_holds_at_most_its_capacity() -> None:
    stage = Stage(capacity=2, hands=("c",), on_stage=("a", "b"))
    with pytest.raises(Conflict, match="full"):
        rules.invite(stage, Role.TEACHER, "c", PRESENT)
    assert stage.hands == ("c",)  # the refused classroom keeps its raised hand


def test_a_stage_of_capacity_zero_admits_nobody() -> None:
    with pytest.raises(Conflict):
        rules.invite(Stage(capacity=0), Role.TEACHER, "a", PRESENT)


# --- removing and leaving -------------------------------------------------------------------


def test_the_teacher_removes_a_classroom_from_the_stage() -> None:
    stage = rules.remove(Stage(on_stage=("a", "b")), Role.TEACHER, "alice", "a")
    assert stage.on_stage == ("b",)


def test_a_classroom_leaves_the_stage_by_itself() -> None:
    assert rules.remove(Stage(on_stage=("a", "b")), Role.CLASSROOM, "b", "b").on_stage == ("a",)


def test_a_classroom_cannot_remove_another_classroom() -> None:
    with pytest.raises(PermissionDenied):
        rules.remove(Stage(on_stage=("a", "b")), Role.CLASSROOM, "b", "a")


def test_removing_a_classroom_that_is_not_on_stage_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        rules.remove(Stage(on_stage=("a",)), Role.TEACHER, "alice", "b")


def test_a_classroom_leaving_the_lesson_leaves_the_stage_and_lowers_its_hand() -> None:
    stage = rules.leave_lesson(Stage(hands=("b", "c"), on_stage=("a", "b")), "b")
    assert stage.on_stage == ("a",)
    assert stage.hands == ("c",)


def test_a_participant_not_on_stage_leaving_the_lesson_changes_nothing() -> None:
    stage = Stage(hands=("c",), on_stage=("a",))
    assert rules.leave_lesson(stage, "alice") == stage


# --- the value itself ---------------------------------------------------------------------


def test_a_refused_decision_leaves_the_stage_as_it_was() -> None:
    stage = Stage(capacity=1, hands=("b",), on_stage=("a",))
    for attempt in (
        lambda: rules.invite(stage, Role.TEACHER, "b", PRESENT),
        lambda: rules.remove(stage, Role.CLASSROOM, "b", "a"),
        lambda: rules.raise_hand(stage, Role.CLASSROOM, "a"),
    ):
        with pytest.raises((Conflict, PermissionDenied)):
            attempt()
    assert stage == Stage(capacity=1, hands=("b",), on_stage=("a",))


def test_the_stage_is_immutable() -> None:
    with pytest.raises(AttributeError):
        Stage().hands = ("a",)  # type: ignore[misc]


def test_the_stage_serialises_to_the_protocol_shape() -> None:
    assert Stage(capacity=3, hands=("b",), on_stage=("a",)).to_json() == {
        "capacity": 3, "hands": ["b"], "on_stage": ["a"],
    }
