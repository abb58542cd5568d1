"""Admin overrides: the latest one per student wins, a reason is required, credit follows the override."""

from __future__ import annotations

import pytest

from classroom.attendance import (
    ExpectedStudent,
    LessonAttendance,
    Override,
    Status,
    apply_overrides,
    compute_attendance,
    policy,
)
from classroom.errors import ValidationError
from tests.attendance import LESSON, WINDOW, checkin, checkout, connected


def attendance() -> LessonAttendance:
    """S1 present with credit, S2 late and left early without credit, S3 absent."""
    events = [*connected("A", -5, 65), checkin("S1", "A", -2), checkin("S2", "A", 10), checkout("S2", "A", 40)]
    expected = [ExpectedStudent(code, "A") for code in ("S1", "S2", "S3")]
    return compute_attendance(LESSON, WINDOW, events, expected, [], policy("2026.1"))


def override(student: str, status: Status, at: float = 100.0, reason: str = "checked the video") -> Override:
    return Override(student, status, reason, "admin-ana", at)


VIDEO = "checked the video"
CASES: dict[str, tuple[list[Override], str, Status, bool, str]] = {
    "no_override_keeps_the_computed_status": ([], "S2", Status.LATE, False, ""),
    "absent_overridden_to_present_earns_credit_despite_the_share": (
        [override("S3", Status.PRESENT)],
        "S3",
        Status.PRESENT,
        True,
        VIDEO,
    ),
    "present_overridden_to_absent_loses_credit": ([override("S1", Status.ABSENT)], "S1", Status.ABSENT, False, VIDEO),
    "late_overridden_to_left_early_earns_credit": (
        [override("S2", Status.LEFT_EARLY)],
        "S2",
        Status.LEFT_EARLY,
        True,
        VIDEO,
    ),
    "overridden_to_excused_has_no_credit": ([override("S3", Status.EXCUSED)], "S3", Status.EXCUSED, False, VIDEO),
    "the_latest_override_wins_whatever_the_input_order": (
        [override("S3", Status.PRESENT, at=200, reason="second look"), override("S3", Status.LATE, at=100)],
        "S3",
        Status.PRESENT,
        True,
        "second look",
    ),
    "at_the_same_time_the_later_in_input_wins": (
        [override("S3", Status.LATE, reason="first"), override("S3", Status.PRESENT, reason="then")],
        "S3",
        Status.PRESENT,
        True,
        "then",
    ),
}


@pytest.mark.parametrize(("overrides", "student", "status", "credit", "reason"), list(CASES.values()), ids=list(CASES))
def test_apply_overrides(overrides: list[Override], student: str, status: Status, credit: bool, reason: str) -> None:
    before = attendance()
    row = apply_overrides(before, overrides).student(student)
    computed = before.student(student)
    assert row is not None and computed is not None
    assert (row.status, row.credit, row.override_reason) == (status, credit, reason)
    assert row.computed_status is computed.status
    assert row.override_author == ("admin-ana" if reason else "")
    assert (row.seconds, row.intervals, row.late, row.left_early) == (
        computed.seconds,
        computed.intervals,
        computed.late,
        computed.left_early,
    )


def test_overrides_leave_other_students_and_the_input_untouched() -> None:
    before = attendance()
    after = apply_overrides(before, [override("S3", Status.PRESENT)])
    assert after.students[:2] == before.students[:2]
    assert before.student("S3").status is Status.ABSENT  # type: ignore[union-attr]


def test_overriding_again_keeps_the_originally_computed_status() -> None:
    once = apply_overrides(attendance(), [override("S3", Status.PRESENT)])
    twice = apply_overrides(once, [override("S3", Status.LATE, at=300)])
    assert (twice.student("S3").status, twice.student("S3").computed_status) == (  # type: ignore[union-attr]
        Status.LATE,
        Status.ABSENT,
    )


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty_reason", "blank_reason"])
def test_an_override_without_reason_is_refused(reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        apply_overrides(attendance(), [override("S1", Status.ABSENT, reason=reason)])


def test_an_override_for_a_student_not_in_the_attendance_is_refused() -> None:
    with pytest.raises(ValidationError, match="S7"):
        apply_overrides(attendance(), [override("S7", Status.PRESENT)])


def test_an_override_round_trips_through_json_and_bad_json_is_refused() -> None:
    original = override("S1", Status.LEFT_EARLY)
    assert Override.from_json(original.to_json()) == original
    assert original.to_json()["status"] == "left_early"
    for bad in ({**original.to_json(), "status": "asleep"}, {"student": "S1"}, {**original.to_json(), "at": "now"}):
        with pytest.raises(ValidationError):
            Override.from_json(bad)
