"""The attendance policy, rule by rule: presence events in, a status and credit per student out."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.attendance import (
    CURRENT_POLICY,
    POLICIES,
    ClassroomAttendance,
    Excuse,
    ExpectedStudent,
    Interval,
    LessonAttendance,
    Policy,
    PresenceEvent,
    PresenceKind,
    Status,
    StudentAttendance,
    compute_attendance,
    policy,
)
from classroom.errors import ValidationError
from tests.attendance import LESSON, T0, WINDOW, answer, at, checkin, checkout, connected, event, rollcall

P = policy("2026.1")
S1 = [ExpectedStudent("S1", "A")]
S1_S2 = [ExpectedStudent("S1", "A"), ExpectedStudent("S2", "A")]
WHOLE = connected("A", -5, 65)


@dataclass(frozen=True)
class Outcome:
    status: Status
    minutes: float
    credit: bool
    late: bool = False
    left_early: bool = False


@dataclass(frozen=True)
class Case:
    events: Sequence[PresenceEvent]
    outcomes: dict[str, Outcome]
    expected: Sequence[ExpectedStudent] = tuple(S1)
    excuses: Sequence[Excuse] = field(default_factory=tuple)


def present(minutes: float, credit: bool = True) -> Outcome:
    return Outcome(Status.PRESENT, minutes, credit)


CASES = {
    "on_time_for_the_whole_lesson_is_present_with_credit": Case([*WHOLE, checkin("S1", "A", -2)], {"S1": present(60)}),
    "a_reconnect_within_grace_loses_nothing": Case(
        [*connected("A", -5, 20, leave=False), *connected("A", 20 + 50 / 60, 65, session="s2"), checkin("S1", "A", -2)],
        {"S1": present(60)},
    ),
    "overlapping_sessions_of_a_reconnect_lose_nothing": Case(
        [*connected("A", -5, 30), *connected("A", 29, 65, session="s2"), checkin("S1", "A", -2)],
        {"S1": present(60)},
    ),
    "a_reconnect_beyond_grace_loses_the_gap": Case(
        [*connected("A", -5, 20), *connected("A", 22, 65, session="s2"), checkin("S1", "A", -2)],
        {"S1": present(58)},
    ),
    "a_drop_without_leave_ends_at_the_last_heartbeat": Case(
        [*connected("A", -5, 45, leave=False), checkin("S1", "A", -2)],
        {"S1": Outcome(Status.LEFT_EARLY, 45, credit=True, left_early=True)},
    ),
    "a_session_that_never_heartbeated_lasts_no_time": Case(
        [event(PresenceKind.CLASSROOM_JOIN, 0, classroom="A", session="s1"), *connected("A", 10, 65, "s2")]
        + [checkin("S1", "A", -2)],
        {"S1": Outcome(Status.LATE, 50, credit=True, late=True)},
    ),
    "a_session_without_join_starts_at_its_first_heartbeat": Case(
        [*connected("A", 10, 65)[1:], checkin("S1", "A", -2)],
        {"S1": Outcome(Status.LATE, 50 - 0.25, credit=True, late=True)},
    ),
    "late_beyond_grace_is_late": Case(
        [*WHOLE, checkin("S1", "A", 6)], {"S1": Outcome(Status.LATE, 54, credit=True, late=True)}
    ),
    "late_within_grace_is_present": Case([*WHOLE, checkin("S1", "A", 4.5)], {"S1": present(55.5)}),
    "arriving_exactly_at_the_grace_limit_is_present": Case([*WHOLE, checkin("S1", "A", 5)], {"S1": present(55)}),
    "leaving_before_the_early_grace_is_left_early": Case(
        [*WHOLE, checkin("S1", "A", -2), checkout("S1", "A", 50)],
        {"S1": Outcome(Status.LEFT_EARLY, 50, credit=True, left_early=True)},
    ),
    "leaving_within_the_early_grace_is_present": Case(
        [*WHOLE, checkin("S1", "A", -2), checkout("S1", "A", 56)], {"S1": present(56)}
    ),
    "late_and_leaving_early_is_late_with_both_flags": Case(
        [*WHOLE, checkin("S1", "A", 10), checkout("S1", "A", 50)],
        {"S1": Outcome(Status.LATE, 40, credit=False, late=True, left_early=True)},
    ),
    "no_events_at_all_is_absent": Case([], {"S1": Outcome(Status.ABSENT, 0, credit=False)}),
    "a_check_in_to_a_classroom_never_connected_is_absent": Case(
        [checkin("S1", "A", 0)], {"S1": Outcome(Status.ABSENT, 0, credit=False)}
    ),
    "a_check_in_before_the_lesson_is_clipped_to_the_window": Case(
        [*connected("A", -30, 60), checkin("S1", "A", -20, source="self")], {"S1": present(60)}
    ),
    "a_20_minute_classroom_outage_loses_20_minutes_and_the_credit": Case(
        [*connected("A", -5, 20), *connected("A", 40, 65, session="s2"), checkin("S1", "A", -2)],
        {"S1": present(40, credit=False)},
    ),
    "an_excused_outage_restores_the_minutes": Case(
        [*connected("A", -5, 20), *connected("A", 40, 65, session="s2"), checkin("S1", "A", -2)],
        {"S1": present(60)},
        excuses=[Excuse("regional power cut", classroom="A", start=at(20), end=at(40))],
    ),
    "an_excused_outage_of_another_classroom_restores_nothing": Case(
        [*connected("A", -5, 20), *connected("A", 40, 65, session="s2"), checkin("S1", "A", -2)],
        {"S1": present(40, credit=False)},
        excuses=[Excuse("regional power cut", classroom="B", start=at(20), end=at(40))],
    ),
    "a_whole_lesson_excuse_is_excused_without_credit": Case(
        [], {"S1": Outcome(Status.EXCUSED, 0, credit=False)}, excuses=[Excuse("hospital", student="S1")]
    ),
    "an_unanswered_roll_call_ends_presence": Case(
        [*WHOLE, checkin("S1", "A", -2), rollcall("R1", 30)],
        {"S1": Outcome(Status.LEFT_EARLY, 30, credit=False, left_early=True)},
    ),
    "an_answered_roll_call_keeps_presence": Case(
        [*WHOLE, checkin("S1", "A", -2), rollcall("R1", 30), answer("R1", "A", "S1", 31)], {"S1": present(60)}
    ),
    "an_answer_after_the_deadline_ends_presence_at_the_call_and_restarts_it": Case(
        [*WHOLE, checkin("S1", "A", -2), rollcall("R1", 30), answer("R1", "A", "S1", 33)], {"S1": present(57)}
    ),
    "a_roll_call_answered_for_others_ends_only_the_silent_students": Case(
        [*WHOLE, checkin("S1", "A", -2), checkin("S2", "A", -2), rollcall("R1", 30), answer("R1", "A", "S2", 31)],
        {"S1": Outcome(Status.LEFT_EARLY, 30, credit=False, left_early=True), "S2": present(60)},
        expected=S1_S2,
    ),
    "a_silent_classroom_loses_every_student": Case(
        [*WHOLE, checkin("S1", "A", -2), checkin("S2", "A", -2), rollcall("R1", 30)],
        {s: Outcome(Status.LEFT_EARLY, 30, credit=False, left_early=True) for s in ("S1", "S2")},
        expected=S1_S2,
    ),
    "a_roll_call_answer_starts_presence": Case(
        [*WHOLE, rollcall("R1", 3), answer("R1", "A", "S1", 4)], {"S1": present(56)}
    ),
    "a_classroom_down_during_roll_call_is_not_penalised": Case(
        [*connected("A", -5, 25), *connected("A", 35, 65, session="s2"), checkin("S1", "A", -2), rollcall("R1", 30)],
        {"S1": present(50)},
    ),
    "a_roll_call_for_another_classroom_does_not_ask_this_one": Case(
        [*WHOLE, *connected("B", -5, 65), checkin("S1", "A", -2), rollcall("R1", 30, room="B")], {"S1": present(60)}
    ),
    "a_student_who_moves_rooms_counts_the_union": Case(
        [*connected("A", -5, 40), *connected("B", -5, 65), checkin("S1", "A", -2), checkin("S1", "B", 20)],
        {"S1": present(60)},
    ),
    "a_student_who_moves_through_a_gap_loses_only_the_gap": Case(
        [*WHOLE, *connected("B", -5, 65), checkin("S1", "A", -2), checkout("S1", "A", 30), checkin("S1", "B", 31)],
        {"S1": present(59)},
    ),
    "checking_out_and_in_again_loses_the_time_between": Case(
        [*WHOLE, checkin("S1", "A", -2), checkout("S1", "A", 20), checkin("S1", "A", 25)], {"S1": present(55)}
    ),
    "a_repeated_check_in_changes_nothing": Case(
        [*WHOLE, checkin("S1", "A", -2), checkin("S1", "A", 10, source="self")], {"S1": present(60)}
    ),
    "exactly_the_minimum_share_earns_credit": Case(
        [*WHOLE, checkin("S1", "A", -2), checkout("S1", "A", 45)],
        {"S1": Outcome(Status.LEFT_EARLY, 45, credit=True, left_early=True)},
    ),
    "an_unexpected_student_in_the_events_is_reported_too": Case(
        [*WHOLE, checkin("S9", "A", -2)],
        {"S1": Outcome(Status.ABSENT, 0, credit=False), "S9": present(60)},
    ),
    "events_of_another_lesson_are_ignored": Case(
        [*WHOLE, PresenceEvent("L2", PresenceKind.STUDENT_CHECKIN, at(-2), classroom="A", student="S1")],
        {"S1": Outcome(Status.ABSENT, 0, credit=False)},
    ),
}


def compute(case: Case) -> LessonAttendance:
    return compute_attendance(LESSON, WINDOW, case.events, case.expected, case.excuses, P)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_policy_2026_1(case: Case) -> None:
    attendance = compute(case)
    assert [row.student for row in attendance.students] == sorted(case.outcomes)
    for code, outcome in case.outcomes.items():
        row = attendance.student(code)
        assert row is not None
        seen = Outcome(row.status, round(row.seconds / 60, 6), row.credit, row.late, row.left_early)
        assert seen == outcome
        assert row.computed_status is row.status
        assert row.share == pytest.approx(outcome.minutes / 60)


def test_classrooms_report_sessions_and_connected_time_including_excused_outages() -> None:
    case = Case(
        [*connected("A", -5, 20), *connected("A", 40, 65, session="s2"), checkin("S1", "A", -2)],
        {},
        expected=[ExpectedStudent("S1", "A"), ExpectedStudent("S2", "C")],
        excuses=[Excuse("power cut", classroom="A", start=at(30))],
    )
    attendance = compute(case)
    assert [(row.classroom, row.sessions, row.seconds) for row in attendance.classrooms] == [
        ("A", 2, 60 * 50),
        ("C", 0, 0),
    ]
    assert attendance.classrooms[0].intervals == (Interval(T0, at(20)), Interval(at(30), at(60)))


def test_a_student_lists_the_classrooms_they_were_checked_in_to() -> None:
    events = [*WHOLE, *connected("B", -5, 65), checkin("S1", "B", 10), checkin("S1", "A", 20)]
    row = compute(Case(events, {})).student("S1")
    assert row is not None and row.classrooms == ("A", "B") and row.roster_classroom == "A"


RICH = [
    *connected("A", -5, 20, leave=False),
    *connected("A", 20.5, 65, session="s2"),
    *connected("B", 3, 50),
    *connected("C", -1, 61),
    checkin("S1", "A", -2),
    checkin("S2", "B", 4, source="self"),
    checkout("S2", "B", 30),
    checkin("S2", "C", 31),
    checkin("S3", "C", 0),
    rollcall("R1", 15),
    answer("R1", "A", "S1", 16),
    answer("R1", "C", "S4", 16),
    rollcall("R2", 45),
    answer("R2", "C", "S2", 45),
    answer("R2", "C", "S3", 47),
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_shuffled_and_duplicated_input_gives_an_identical_result(seed: int) -> None:
    expected = [ExpectedStudent(code, room) for code, room in [("S1", "A"), ("S2", "B"), ("S3", "C"), ("S5", "C")]]
    excuses = [Excuse("power cut", classroom="B", start=at(50)), Excuse("sick", student="S5")]
    baseline = compute_attendance(LESSON, WINDOW, RICH, expected, excuses, P)
    rng = random.Random(seed)
    events = RICH + [
        PresenceEvent(**{**e.to_json(), "kind": e.kind, "key": f"dup{seed}"}) for e in rng.sample(RICH, 20)
    ]
    rng.shuffle(events)
    rng.shuffle(expected)
    rng.shuffle(excuses)
    assert compute_attendance(LESSON, WINDOW, events, expected, excuses, P) == baseline
    assert {row.student: (row.status, row.seconds / 60) for row in baseline.students} == {
        "S1": (Status.LEFT_EARLY, 45),
        "S2": (Status.PRESENT, 11 + 29),
        "S3": (Status.PRESENT, 15 + 13),
        "S4": (Status.LATE, 29),
        "S5": (Status.EXCUSED, 0),
    }


def test_to_json_is_plain_json_with_statuses_as_strings_and_minutes() -> None:
    data = compute(Case([*WHOLE, checkin("S1", "A", 6)], {})).to_json()
    student = data["students"][0]
    assert student["status"] == "late" and type(student["status"]) is str
    assert student["computed_status"] == "late"
    assert student["intervals"] == [{"start": at(6), "end": at(60)}]
    assert (student["seconds"], student["minutes"]) == (54 * 60, 54)
    assert data["classrooms"][0]["intervals"] == [{"start": T0, "end": at(60)}]
    assert (data["policy_version"], data["window_minutes"]) == ("2026.1", 60)
    assert type(student["classrooms"]) is list


def test_an_empty_window_gives_zero_share() -> None:
    attendance = compute_attendance(LESSON, Interval(T0, T0), [*WHOLE, checkin("S1", "A", -2)], S1, [], P)
    row = attendance.student("S1")
    assert row is not None and (row.status, row.share, row.seconds) == (Status.ABSENT, 0.0, 0.0)


@pytest.mark.parametrize(
    "bad",
    [
        PresenceEvent(LESSON, PresenceKind.CLASSROOM_JOIN, T0, classroom="A"),
        PresenceEvent(LESSON, PresenceKind.STUDENT_CHECKIN, T0, classroom="A"),
        PresenceEvent(LESSON, PresenceKind.ROLLCALL_ANSWER, T0, classroom="A", student="S1"),
    ],
    ids=["join_without_session", "checkin_without_student", "answer_without_rollcall"],
)
def test_an_event_missing_a_field_its_kind_needs_is_refused(bad: PresenceEvent) -> None:
    with pytest.raises(ValidationError, match="lacks"):
        compute_attendance(LESSON, WINDOW, [bad], S1, [], P)


def test_a_student_expected_in_two_classrooms_is_refused() -> None:
    with pytest.raises(ValidationError, match="two classrooms"):
        compute_attendance(LESSON, WINDOW, [], [ExpectedStudent("S1", "A"), ExpectedStudent("S1", "B")], [], P)


@pytest.mark.parametrize(
    "fields",
    [
        {"reason": " "},
        {"reason": "flood"},
        {"reason": "sick", "student": "S1", "start": 1.0},
        {"reason": "flood", "classroom": "A", "start": 5.0, "end": 4.0},
    ],
    ids=["empty_reason", "names_nobody", "student_excuse_with_times", "outage_ending_before_it_starts"],
)
def test_a_malformed_excuse_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Excuse(**fields)  # type: ignore[arg-type]


# --- policies ------------------------------------------------------------------------------------


def test_policy_2026_1_has_the_published_numbers() -> None:
    assert CURRENT_POLICY in POLICIES
    assert policy("2026.1") == Policy("2026.1", 300, 300, 60, 120, 0.75)


@pytest.mark.parametrize("version", ["2025.9", "", "2026.1 "])
def test_an_unknown_policy_version_is_refused(version: str) -> None:
    with pytest.raises(ValidationError, match="unknown attendance policy"):
        policy(version)


def test_published_policies_cannot_be_edited() -> None:
    with pytest.raises(TypeError):
        POLICIES["2026.1"] = P  # type: ignore[index]


@pytest.mark.parametrize(
    "numbers",
    [(-1, 300, 60, 120, 0.75), (300, 300, 60, 120, 1.5), (300, float("nan"), 60, 120, 0.75)],
    ids=["negative_grace", "share_above_one", "nan_grace"],
)
def test_a_policy_with_bad_numbers_is_refused(numbers: tuple[float, ...]) -> None:
    with pytest.raises(ValidationError):
        Policy("test", *numbers)


# --- the event wire form -------------------------------------------------------------------------


def test_events_round_trip_through_json() -> None:
    for original in RICH[:3] + RICH[-6:]:
        assert PresenceEvent.from_json(original.to_json()) == original
    assert RICH[0].to_json()["kind"] == "classroom.join"


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "student.teleport"},
        {"at": "soon"},
        {"at": True},
        {"at": float("inf")},
        {"lesson": ""},
        {"session": ""},
        {"classroom": 7},
        {"colour": "red"},
        {"key": "k" * 201},
    ],
    ids=lambda changes: "bad_" + next(iter(changes)),
)
def test_from_json_refuses_bad_data(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PresenceEvent.from_json({**RICH[0].to_json(), **changes})


# --- properties and scale ------------------------------------------------------------------------

ROOMS, STUDENTS, CALLS = ["A", "B"], ["S1", "S2", "S3"], ["R1", "R2"]
minutes = st.integers(-10, 70)
random_events = st.one_of(
    st.builds(
        lambda kind, m, room, session: event(kind, m, classroom=room, session=session),
        st.sampled_from([PresenceKind.CLASSROOM_JOIN, PresenceKind.CLASSROOM_HEARTBEAT, PresenceKind.CLASSROOM_LEAVE]),
        minutes,
        st.sampled_from(ROOMS),
        st.sampled_from(["s1", "s2"]),
    ),
    st.builds(
        lambda kind, m, room, student: event(kind, m, classroom=room, student=student),
        st.sampled_from([PresenceKind.STUDENT_CHECKIN, PresenceKind.STUDENT_CHECKOUT]),
        minutes,
        st.sampled_from(ROOMS),
        st.sampled_from(STUDENTS),
    ),
    st.builds(lambda m, call: rollcall(call, m), minutes, st.sampled_from(CALLS)),
    st.builds(answer, st.sampled_from(CALLS), st.sampled_from(ROOMS), st.sampled_from(STUDENTS), minutes),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(random_events, max_size=40), st.integers(0, 3600), st.booleans())
def test_share_stays_in_zero_one_and_time_within_the_window(
    events: list[PresenceEvent], length: int, excuse_outage: bool
) -> None:
    window = Interval(T0, T0 + length)
    excuses = [Excuse("storm", classroom="A", start=at(10), end=at(30))] if excuse_outage else []
    attendance = compute_attendance(LESSON, window, events, [], excuses, P)
    rows: list[ClassroomAttendance | StudentAttendance] = [*attendance.classrooms, *attendance.students]
    for row in rows:
        assert 0.0 <= row.share <= 1.0
        assert row.seconds <= window.length
        assert all(window.start <= span.start < span.end <= window.end for span in row.intervals)
        assert all(a.end < b.start for a, b in zip(row.intervals, row.intervals[1:], strict=False))
    for student in attendance.students:
        assert (student.status is Status.ABSENT) == (student.seconds == 0)
        assert not student.credit or student.share + 1e-9 >= P.min_share


def test_a_full_size_lesson_of_40_classrooms_and_2000_students() -> None:
    """40 classrooms x 50 students, two hours, heartbeats every 15 s, six roll calls (~60,000 events)."""
    window = Interval(T0, T0 + 7200)
    rooms = [f"C{r:02d}" for r in range(40)]
    expected = [ExpectedStudent(f"{room}-S{s:02d}", room) for room in rooms for s in range(50)]
    events: list[PresenceEvent] = []
    for index, room in enumerate(rooms):
        if index == 7:  # a 20-minute outage from minute 60
            events += connected(room, -5, 60) + connected(room, 80, 125, session="s2")
        else:
            events += connected(room, -5, 125)
    for student in expected:
        events.append(checkin(student.code, student.classroom, -3))
        events.append(checkin(student.code, student.classroom, 1, source="self"))
    for call, minute in enumerate([10, 30, 50, 70, 90, 110]):
        events.append(rollcall(f"R{call}", minute))
        for student in expected:
            silent_room = student.classroom == "C03" and minute == 50
            if not silent_room and student.code != "C05-S07":
                events.append(answer(f"R{call}", student.classroom, student.code, minute + 1))
    events += events[:24000]  # the store delivered some events twice
    assert len(events) > 60_000  # 36,752 distinct
    attendance = compute_attendance(LESSON, window, events, expected, [], P)
    by_code = {row.student: row for row in attendance.students}
    assert len(by_code) == 2000 and len(attendance.classrooms) == 40
    assert (by_code["C00-S00"].status, by_code["C00-S00"].seconds, by_code["C00-S00"].credit) == (
        Status.PRESENT,
        7200,
        True,
    )
    assert by_code["C07-S10"].seconds == 100 * 60 and by_code["C07-S10"].credit  # lost the 20-minute outage
    silent = by_code["C03-S01"]  # its classroom was silent at R2 (minute 50) and answered R3 at minute 71
    assert (silent.status, silent.seconds, silent.intervals[0].end) == (Status.PRESENT, (50 + 49) * 60, at(50))
    assert (by_code["C05-S07"].status, by_code["C05-S07"].seconds) == (Status.LEFT_EARLY, 10 * 60)  # never answered
    assert by_code["C05-S07"].classrooms == ("C05",)
