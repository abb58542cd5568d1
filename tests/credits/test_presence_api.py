"""Presence through the API: roster ticks, self check-in with the screen code, roll calls."""

from __future__ import annotations

import pytest

from tests.support.programme import (  # noqa: F401  (fixtures)
    EAST_STUDENT,
    WEST_2_STUDENTS,
    WEST_ROOM,
    WEST_ROOM_2,
    WEST_STUDENTS,
    Programme,
    clock,
    programme,
)


async def events(p: Programme, lesson: str) -> list[dict[str, object]]:
    data = await p.ok("GET", f"/api/lessons/{lesson}/presence", p.admin("east"))
    return list(data["events"])


async def test_a_roster_tick_appends_one_event_per_student_and_a_retry_answers_exists(p: Programme) -> None:
    lesson = await p.start_lesson()
    first = await p.tick(lesson, checked_in=WEST_STUDENTS[:2], key="tick-1")
    assert first.status_code == 201 and first.json()["created"] == 2
    retry = await p.tick(lesson, checked_in=WEST_STUDENTS[:2], key="tick-1")
    assert retry.status_code == 200 and retry.json() == {**first.json(), "created": 0, "exists": 2,
                                                         "events": [{**e, "result": "exists"}
                                                                    for e in first.json()["events"]]}
    kinds = [(e["kind"], e["student"]) for e in await events(p, lesson)]
    assert kinds == [("student.checkin", WEST_STUDENTS[0]), ("student.checkin", WEST_STUDENTS[1])]


@pytest.mark.parametrize(
    ("body", "status"),
    [({"checked_in": [WEST_2_STUDENTS[0]]}, 403), ({"checked_in": [EAST_STUDENT]}, 403),
     ({"checked_in": ["NO-SUCH-1"]}, 400), ({"checked_in": "NJ-0001"}, 400), ({"checked_in": []}, 400),
     ({"checked_in": ["NJ-0001"], "checked_out": ["NJ-0001"]}, 400), ({"checked_in": ["NJ-0001", "NJ-0001"]}, 400),
     ({"present": ["NJ-0001"]}, 400)],
    ids=["other-classrooms-student", "other-schools-student", "unknown-student", "not-a-list", "nobody",
         "in-and-out", "twice", "unknown-field"],
)
async def test_bad_roster_ticks_are_refused_and_change_nothing(p: Programme, body: dict[str, object],
                                                               status: int) -> None:
    lesson = await p.start_lesson()
    headers = {**p.classroom(), "Idempotency-Key": "k"}
    response = await p.client.post(f"/api/lessons/{lesson}/presence", headers=headers, json=body)
    assert response.status_code == status, response.text
    assert await events(p, lesson) == []


async def test_roster_ticks_need_a_key_a_classroom_token_and_a_live_lesson(p: Programme) -> None:
    lesson = await p.start_lesson()
    body = {"checked_in": [WEST_STUDENTS[0]]}
    no_key = await p.client.post(f"/api/lessons/{lesson}/presence", headers=p.classroom(), json=body)
    assert no_key.status_code == 400
    as_student = await p.client.post(f"/api/lessons/{lesson}/presence", json=body,
                                     headers={**p.student(WEST_STUDENTS[0]), "Idempotency-Key": "k"})
    assert as_student.status_code == 403
    no_token = await p.client.post(f"/api/lessons/{lesson}/presence", json=body, headers={"Idempotency-Key": "k"})
    assert no_token.status_code == 401
    other_lesson = await p.client.post(f"/api/lessons/{lesson}/presence", json=body,
                                       headers={**p.classroom(lesson="other"), "Idempotency-Key": "k"})
    assert other_lesson.status_code == 403
    await p.end_lesson(lesson)
    ended = await p.tick(lesson, checked_in=WEST_STUDENTS[:1])
    assert ended.status_code == 409


async def test_a_student_checks_in_with_the_code_on_their_classroom_screen(p: Programme) -> None:
    lesson = await p.start_lesson()
    shown = await p.ok("GET", f"/api/lessons/{lesson}/checkin-code", p.classroom())
    assert len(shown["code"]) == 6 and shown["valid_until"] > p.clock.now
    p.clock.advance(40)
    body = {"classroom": WEST_ROOM, "code": shown["code"]}
    first = await p.client.post(f"/api/lessons/{lesson}/checkin", headers=p.student(WEST_STUDENTS[0]), json=body)
    assert first.status_code == 201 and first.json()["result"] == "created"
    again = await p.client.post(f"/api/lessons/{lesson}/checkin", headers=p.student(WEST_STUDENTS[0]), json=body)
    assert again.status_code == 200 and again.json()["result"] == "exists"
    recorded = await events(p, lesson)
    assert [(e["student"], e["source"]) for e in recorded] == [(WEST_STUDENTS[0], "self")]


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [("forged", 400, "not this classroom's code"), ("expired", 400, "expired"),
     ("other-classroom", 400, "not this classroom's code"), ("not-my-classroom", 403, "roster")],
)
async def test_forged_expired_and_misplaced_codes_are_refused(p: Programme, case: str, status: int,
                                                              message: str) -> None:
    lesson = await p.start_lesson()
    code = (await p.ok("GET", f"/api/lessons/{lesson}/checkin-code", p.classroom()))["code"]
    room = WEST_ROOM
    if case == "forged":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    elif case == "expired":
        p.clock.advance(125)
    elif case == "other-classroom":
        code = (await p.ok("GET", f"/api/lessons/{lesson}/checkin-code", p.classroom(WEST_ROOM_2)))["code"]
    else:
        room = WEST_ROOM_2
    response = await p.client.post(f"/api/lessons/{lesson}/checkin", headers=p.student(WEST_STUDENTS[0]),
                                   json={"classroom": room, "code": code})
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert await events(p, lesson) == []


async def test_guessing_codes_is_rate_limited(p: Programme) -> None:
    lesson = await p.start_lesson()
    statuses = []
    for guess in range(12):
        response = await p.client.post(f"/api/lessons/{lesson}/checkin", headers=p.student(WEST_STUDENTS[0]),
                                       json={"classroom": WEST_ROOM, "code": f"{guess:06d}"})
        statuses.append(response.status_code)
    assert statuses[-1] == 429 and 429 not in statuses[:10]


async def test_only_classrooms_see_their_screen_code(p: Programme) -> None:
    lesson = await p.start_lesson()
    for headers in (p.student(WEST_STUDENTS[0]), p.teacher(), p.admin("east")):
        response = await p.client.get(f"/api/lessons/{lesson}/checkin-code", headers=headers)
        assert response.status_code == 403


async def test_the_teacher_calls_the_roll_and_classrooms_answer_in_time(p: Programme) -> None:
    lesson = await p.start_lesson()
    opened = await p.ok("POST", f"/api/lessons/{lesson}/rollcalls", p.teacher())
    url = f"/api/lessons/{lesson}/rollcalls/{opened['rollcall']}/answers"
    answered = await p.client.post(url, headers=p.classroom(), json={"present": list(WEST_STUDENTS[:2])})
    assert answered.status_code == 201 and answered.json()["created"] == 2
    p.clock.advance(121)
    late = await p.client.post(url, headers=p.classroom(), json={"present": [WEST_STUDENTS[2]]})
    assert late.status_code == 409
    unknown = await p.client.post(f"/api/lessons/{lesson}/rollcalls/nope/answers", headers=p.classroom(),
                                  json={"present": []})
    assert unknown.status_code == 404
    kinds = [(e["kind"], e["student"]) for e in await events(p, lesson)]
    assert kinds == [("rollcall.open", ""), ("rollcall.answer", WEST_STUDENTS[0]),
                     ("rollcall.answer", WEST_STUDENTS[1])]


async def test_only_the_lessons_teacher_calls_the_roll(p: Programme) -> None:
    lesson = await p.start_lesson()
    for headers in (p.tokens.teacher("bob", school="east"), p.classroom(), p.admin("east")):
        response = await p.client.post(f"/api/lessons/{lesson}/rollcalls", headers=headers)
        assert response.status_code == 403


async def test_raw_events_are_for_the_teacher_and_the_lessons_admins(p: Programme) -> None:
    lesson = await p.start_lesson()
    for headers, status in ((p.teacher(), 200), (p.admin("east"), 200), (p.admin("west-1"), 403),
                            (p.student(WEST_STUDENTS[0]), 403), (p.classroom(), 403)):
        response = await p.client.get(f"/api/lessons/{lesson}/presence", headers=headers)
        assert response.status_code == status


@pytest.fixture
def p(programme: Programme) -> Programme:  # noqa: F811
    return programme


async def test_a_tick_key_reused_for_other_students_is_a_conflict_and_changes_nothing(p: Programme) -> None:
    lesson = await p.start_lesson()
    assert (await p.tick(lesson, checked_in=(WEST_STUDENTS[0],), key="tick-9")).status_code == 201
    for other in ({"checked_in": (WEST_STUDENTS[1],)}, {"checked_out": (WEST_STUDENTS[0],)},
                  {"checked_in": (WEST_STUDENTS[0], WEST_STUDENTS[1])}):
        response = await p.tick(lesson, key="tick-9", **other)
        assert response.status_code == 409, response.text
    assert [(e["kind"], e["student"]) for e in await events(p, lesson)] == [("student.checkin", WEST_STUDENTS[0])]


async def test_a_teacher_of_another_school_with_the_same_name_sees_nothing(p: Programme) -> None:
    lesson = await p.start_lesson()
    impostor = p.tokens.teacher("alice", school="west-1")
    for method, url in (("GET", f"/api/lessons/{lesson}/presence"), ("POST", f"/api/lessons/{lesson}/rollcalls"),
                        ("GET", f"/api/lessons/{lesson}/attendance")):
        response = await p.client.request(method, url, headers=impostor)
        assert response.status_code == 403, (url, response.text)


async def test_a_student_checked_out_can_check_in_again_with_the_same_code(p: Programme) -> None:
    lesson = await p.start_lesson()
    code = (await p.ok("GET", f"/api/lessons/{lesson}/checkin-code", p.classroom()))["code"]
    body = {"classroom": WEST_ROOM, "code": code}
    url = f"/api/lessons/{lesson}/checkin"
    assert (await p.client.post(url, headers=p.student(WEST_STUDENTS[0]), json=body)).status_code == 201
    assert (await p.tick(lesson, checked_out=(WEST_STUDENTS[0],))).status_code == 201
    again = await p.client.post(url, headers=p.student(WEST_STUDENTS[0]), json=body)
    assert again.status_code == 201 and again.json()["result"] == "created"
    kinds = [e["kind"] for e in await events(p, lesson)]
    assert kinds == ["student.checkin", "student.checkout", "student.checkin"]
