"""Pure access rules over token claims."""

from __future__ import annotations

import pytest

from classroom.access import Claims, can_interact, can_manage_lessons, can_publish, can_view, covers_lesson
from classroom.lessons import new_lesson
from classroom.principal import Principal
from classroom.roles import Role

LESSON = new_lesson("L1", "Mould design", "east", "alice", None, True, 0.0)


def claims(role: Role, subject: str = "alice", lesson: str = "*") -> Claims:
    return Claims(Principal("east", role, subject), lesson=lesson, grants=(), expires_at=0)


def test_star_scope_covers_every_lesson_and_lesson_scope_only_its_own() -> None:
    assert covers_lesson(claims(Role.STUDENT), "anything")
    assert covers_lesson(claims(Role.STUDENT, lesson="L1"), "L1")
    assert not covers_lesson(claims(Role.STUDENT, lesson="L1"), "L2")


@pytest.mark.parametrize(
    "role,allowed", [(Role.TEACHER, True), (Role.ADMIN, True), (Role.CLASSROOM, False), (Role.STUDENT, False)]
)
def test_only_teachers_and_admins_manage_lessons(role: Role, allowed: bool) -> None:
    assert can_manage_lessons(claims(role)) is allowed


def test_the_lessons_own_teacher_can_publish() -> None:
    assert can_publish(claims(Role.TEACHER, "alice", lesson="L1"), LESSON)


def test_another_teacher_cannot_publish() -> None:
    assert not can_publish(claims(Role.TEACHER, "bob"), LESSON)


def test_teacher_scoped_to_another_lesson_cannot_publish() -> None:
    assert not can_publish(claims(Role.TEACHER, "alice", lesson="L2"), LESSON)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLASSROOM, Role.STUDENT])
def test_non_teachers_cannot_publish_even_with_the_teachers_subject(role: Role) -> None:
    assert not can_publish(claims(role, "alice"), LESSON)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_view_a_covered_lesson_but_not_an_uncovered_one(role: Role) -> None:
    assert can_view(claims(role, lesson="L1"), "L1")
    assert not can_view(claims(role, lesson="L1"), "L2")


@pytest.mark.parametrize(
    "role,allowed", [(Role.TEACHER, True), (Role.CLASSROOM, True), (Role.ADMIN, False), (Role.STUDENT, False)]
)
def test_only_teachers_and_classrooms_interact(role: Role, allowed: bool) -> None:
    assert can_interact(claims(role), "L1") is allowed
    assert not can_interact(claims(role, lesson="L2"), "L1")
