"""Attendance through the API: computed from presence, reviewed, corrected, exported."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support.programme import (  # noqa: F401  (fixtures)
    EAST_STUDENT,
    WEST_2_STUDENTS,
    WEST_ROOM,
    WEST_STUDENTS,
    Programme,
    clock,
    programme,
)

A, B, C = WEST_STUDENTS


@pytest.fixture
def p(programme: Programme) -> Programme:  # noqa: F811
    return programme


async def one_hour(p: Programme, *, outage: tuple[float, float] | None = None) -> str:
    """A 60-minute lesson: nujiang-1 connects, ticks A, B, C in; B leaves after 30 minutes."""
    lesson = await p.start_lesson()
    session = p.connect(lesson)
    assert (await p.tick(lesson, checked_in=(A, B, C))).status_code == 201
    minute = 0.0
    for start, end in [outage] if outage else []:
        p.wait((start - minute) * 60)
        p.disconnect(session)
        p.clock.advance((end - start) * 60)
        session = p.connect(lesson)
        minute = end
    p.wait((30 - minute) * 60) if minute < 30 else None
    if minute <= 30:
        assert (await p.tick(lesson, checked_out=(B,))).status_code == 201
        minute = 30
    p.wait((60 - minute) * 60)
    await p.end_lesson(lesson)
    return lesson


async def test_a_lesson_gives_each_student_minutes_share_and_status(p: Programme) -> None:
    lesson = await one_hour(p)
    data = await p.attendance(lesson)
    rows = {row["student"]: row for row in data["students"]}
    assert (rows[A]["status"], rows[A]["credit"], rows[A]["minutes"]) == ("present", True, 60.0)
    assert (rows[B]["status"], rows[B]["credit"], rows[B]["minutes"]) == ("left_early", False, 30.0)
    assert rows[WEST_2_STUDENTS[0]]["status"] == "absent" and rows[EAST_STUDENT]["status"] == "absent"
    assert rows[A]["school"] == "west-1" and data["policy_version"] == "2026.1"
    room = {c["classroom"]: c for c in data["classrooms"]}[WEST_ROOM]
    assert room["sessions"] == 1 and room["share"] == 1.0


async def test_a_classroom_outage_costs_its_students_those_minutes_unless_excused(p: Programme) -> None:
    lesson = await one_hour(p, outage=(10, 30))
    row = await p.row(lesson, A)
    assert (row["minutes"], row["credit"]) == (40.0, False)
    outage = {"classroom": WEST_ROOM, "start": p.clock.now - 50 * 60, "end": p.clock.now - 30 * 60,
              "reason": "power cut in Nujiang"}
    excused = await p.client.post(f"/api/lessons/{lesson}/attendance/excuses", headers=p.admin("west-1"),
                                  json=outage)
    assert excused.status_code == 201, excused.text
    row = await p.row(lesson, A)
    assert (row["minutes"], row["status"], row["credit"]) == (60.0, "present", True)


async def test_an_override_changes_the_status_with_an_audited_reason(p: Programme) -> None:
    lesson = await one_hour(p)
    body = {"student": WEST_2_STUDENTS[0], "status": "present", "reason": "watched from the library"}
    created = await p.client.post(f"/api/lessons/{lesson}/attendance/overrides", headers=p.admin("east"), json=body)
    assert created.status_code == 201, created.text
    row = await p.row(lesson, WEST_2_STUDENTS[0])
    assert (row["status"], row["computed_status"], row["credit"]) == ("present", "absent", True)
    trail = await p.ok("GET", f"/api/lessons/{lesson}/attendance/corrections", p.admin("east"))
    assert [(o["student"], o["status"], o["author"]) for o in trail["overrides"]] == [
        (WEST_2_STUDENTS[0], "present", "admin:admin-east@east")]


@pytest.mark.parametrize(
    ("school", "body", "status"),
    [("west-1", {"student": A, "status": "present", "reason": "r"}, 403),
     ("east", {"student": A, "status": "present"}, 400),
     ("east", {"student": A, "status": "asleep", "reason": "r"}, 400),
     ("east", {"student": "NO-SUCH-1", "status": "present", "reason": "r"}, 400),
     ("east", {"student": A, "status": "present", "reason": "r", "minutes": 60}, 400)],
    ids=["other-school", "no-reason", "bad-status", "unknown-student", "unknown-field"],
)
async def test_bad_overrides_are_refused_and_change_nothing(p: Programme, school: str, body: dict[str, object],
                                                            status: int) -> None:
    lesson = await one_hour(p)
    before = await p.attendance(lesson)
    response = await p.client.post(f"/api/lessons/{lesson}/attendance/overrides", headers=p.admin(school),
                                   json=body)
    assert response.status_code == status, response.text
    assert await p.attendance(lesson) == before


async def test_an_override_key_reused_for_another_override_is_a_conflict(p: Programme) -> None:
    lesson = await one_hour(p)
    url = f"/api/lessons/{lesson}/attendance/overrides"
    headers = {**p.admin("east"), "Idempotency-Key": "ov-1"}
    body = {"student": B, "status": "excused", "reason": "hospital"}
    assert (await p.client.post(url, headers=headers, json=body)).status_code == 201
    assert (await p.client.post(url, headers=headers, json=body)).status_code == 200
    other = await p.client.post(url, headers=headers, json={**body, "status": "present"})
    assert other.status_code == 409


async def test_each_reader_sees_what_they_may(p: Programme) -> None:
    lesson = await one_hour(p)
    west = await p.attendance(lesson, school="west-1")
    assert {row["student"] for row in west["students"]} == {A, B, C, WEST_2_STUDENTS[0]}
    teacher = await p.ok("GET", f"/api/lessons/{lesson}/attendance", p.teacher())
    assert EAST_STUDENT in {row["student"] for row in teacher["students"]}
    for headers in (p.student(A), p.classroom(), p.tokens.teacher("bob", school="east")):
        assert (await p.client.get(f"/api/lessons/{lesson}/attendance", headers=headers)).status_code == 403
    own = await p.ok("GET", f"/api/students/{A}/attendance", p.student(A))
    assert [(row["lesson"], row["status"]) for row in own["lessons"]] == [(lesson, "present")]
    other = await p.client.get(f"/api/students/{B}/attendance", headers=p.student(A))
    assert other.status_code == 403
    assert (await p.client.get(f"/api/students/{A}/attendance", headers=p.admin("east"))).status_code == 403
    assert (await p.client.get(f"/api/students/{A}/attendance", headers=p.admin("west-1"))).status_code == 200


async def test_attendance_exports_as_csv(p: Programme) -> None:
    lesson = await one_hour(p)
    response = await p.client.get(f"/api/lessons/{lesson}/attendance.csv", headers=p.admin("east"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_student = {row["student"]: row for row in rows}
    assert by_student[A]["status"] == "present" and by_student[A]["minutes"] == "60.00"
    assert by_student[B]["status"] == "left_early" and by_student[B]["credit"] == "false"
    assert len(rows) == 5


async def test_a_lesson_that_never_started_has_no_attendance(p: Programme) -> None:
    lesson = await p.ok("POST", "/api/lessons", p.teacher(), json={"title": "later", "course": "mould-101"})
    response = await p.client.get(f"/api/lessons/{lesson['id']}/attendance", headers=p.admin("east"))
    assert response.status_code == 409


@pytest.mark.parametrize(
    "body",
    [{"classroom": WEST_ROOM, "start": 0, "end": 1e400, "reason": "r"},
     {"classroom": WEST_ROOM, "start": float("nan"), "end": 10, "reason": "r"},
     {"classroom": WEST_ROOM, "start": 10, "end": 5, "reason": "r"},
     {"student": A, "reason": "\ud800"}, {"student": A, "reason": "nul\u0000"},
     {"student": "\u0000", "reason": "r"}, {"classroom": "bad room", "start": 1, "end": 2, "reason": "r"}],
    ids=["infinite-end", "nan-start", "end-before-start", "lone-surrogate", "nul", "nul-student", "bad-room"],
)
async def test_bad_excuses_are_refused_and_change_nothing(p: Programme, body: dict[str, object]) -> None:
    lesson = await one_hour(p)
    response = await p.client.post(f"/api/lessons/{lesson}/attendance/excuses",
                                   headers={**p.admin("east"), "Content-Type": "application/json"},
                                   content=json.dumps(body, allow_nan=True))
    assert response.status_code == 400, response.text
    trail = await p.ok("GET", f"/api/lessons/{lesson}/attendance/corrections", p.admin("east"))
    assert trail == {"overrides": [], "excuses": []}


async def test_override_keys_belong_to_their_lesson(p: Programme) -> None:
    first, second = await one_hour(p), await one_hour(p)
    body = {"student": B, "status": "present", "reason": "r"}
    for lesson in (first, second):
        response = await p.client.post(f"/api/lessons/{lesson}/attendance/overrides", json=body,
                                       headers={**p.admin("east"), "Idempotency-Key": "same"})
        assert response.status_code == 201, response.text
