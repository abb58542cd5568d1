"""Replay for all-lessons student and classroom tokens: enrolled in the course, or took part."""

from __future__ import annotations

import pytest

from tests.support.programme import (  # noqa: F401  (fixtures)
    COURSE,
    WEST_2_STUDENTS,
    WEST_ROOM,
    WEST_ROOM_2,
    WEST_STUDENTS,
    Programme,
    clock,
    programme,
)
from tests.support.recordings import recording, seed


@pytest.fixture
async def recorded(programme: Programme) -> tuple[Programme, str]:  # noqa: F811
    p = programme
    lesson = await p.start_lesson()
    session = p.connect(lesson, WEST_ROOM)
    p.wait(600)
    p.disconnect(session)
    await p.end_lesson(lesson)
    await seed(p.app, recording("R9", lesson, course=COURSE), with_media=False)
    return p, lesson


@pytest.mark.parametrize(
    ("who", "status"),
    [("enrolled student", 200), ("unenrolled student whose classroom attended", 200),
     ("unenrolled student whose classroom stayed away", 403), ("classroom that attended", 200),
     ("classroom that stayed away", 403)],
)
async def test_who_replays_with_an_all_lessons_token(recorded: tuple[Programme, str], who: str, status: int) -> None:
    p, _lesson = recorded
    for code in (WEST_STUDENTS[1], WEST_2_STUDENTS[0]):
        response = await p.client.delete(f"/api/courses/{COURSE}/enrolments/{code}", headers=p.admin("east"))
        assert response.status_code == 204, response.text
    headers = {
        "enrolled student": p.student(WEST_STUDENTS[0]),
        "unenrolled student whose classroom attended": p.student(WEST_STUDENTS[1]),
        "unenrolled student whose classroom stayed away": p.student(WEST_2_STUDENTS[0]),
        "classroom that attended": p.classroom(WEST_ROOM),
        "classroom that stayed away": p.classroom(WEST_ROOM_2),
    }[who]
    assert (await p.client.get("/api/recordings/R9", headers=headers)).status_code == status
    listed = (await p.client.get("/api/recordings", headers=headers)).json()["recordings"]
    assert ("R9" in [r["id"] for r in listed]) is (status == 200)
