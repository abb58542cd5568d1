"""The pure lesson state machine and validation."""

from __future__ import annotations

import pytest

from classroom.errors import InvalidTransition, ValidationError
from classroom.lessons import Lesson, LessonState, end, go_live, new_lesson


def scheduled(**overrides: object) -> Lesson:
    fields: dict[str, object] = dict(
        id="L1", title="Mould design", school="east", teacher="alice", course="mould", recording=True, now=100.0
    )
    fields.update(overrides)
    return new_lesson(**fields)  # type: ignore[arg-type]


def test_new_lesson_is_scheduled_with_trimmed_title() -> None:
    lesson = scheduled(title="  Mould design  ")
    assert lesson.state is LessonState.SCHEDULED
    assert lesson.title == "Mould design"
    assert (lesson.created_at, lesson.started_at, lesson.ended_at) == (100.0, None, None)


@pytest.mark.parametrize("title", ["", "   ", "x" * 201, None, 42])
def test_new_lesson_rejects_empty_oversized_or_non_text_title(title: object) -> None:
    with pytest.raises(ValidationError, match="title"):
        scheduled(title=title)


def test_new_lesson_accepts_title_of_exactly_200_characters() -> None:
    assert len(scheduled(title="x" * 200).title) == 200


def test_new_lesson_rejects_non_boolean_recording() -> None:
    with pytest.raises(ValidationError, match="recording"):
        scheduled(recording="yes")


def test_new_lesson_rejects_empty_teacher_and_oversized_course() -> None:
    with pytest.raises(ValidationError, match="teacher"):
        scheduled(teacher="")
    with pytest.raises(ValidationError, match="course"):
        scheduled(course="c" * 101)


def test_go_live_moves_scheduled_to_live_and_stamps_start() -> None:
    live = go_live(scheduled(), now=200.0)
    assert live.state is LessonState.LIVE
    assert live.started_at == 200.0


def test_go_live_on_a_live_lesson_returns_the_same_lesson() -> None:
    live = go_live(scheduled(), now=200.0)
    assert go_live(live, now=300.0) is live


def test_go_live_on_an_ended_lesson_raises() -> None:
    with pytest.raises(InvalidTransition):
        go_live(end(scheduled(), now=150.0), now=200.0)


@pytest.mark.parametrize("started", [False, True])
def test_end_moves_scheduled_or_live_to_ended(started: bool) -> None:
    lesson = go_live(scheduled(), now=150.0) if started else scheduled()
    ended = end(lesson, now=300.0)
    assert ended.state is LessonState.ENDED
    assert ended.ended_at == 300.0


def test_ending_twice_raises() -> None:
    with pytest.raises(InvalidTransition, match="already ended"):
        end(end(scheduled(), now=150.0), now=200.0)


def test_to_json_renders_state_as_its_string_value() -> None:
    data = scheduled().to_json()
    assert data["state"] == "scheduled"
    assert data["id"] == "L1" and data["recording"] is True
