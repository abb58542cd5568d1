"""A remote classroom's lesson-channel connections become presence events: join, heartbeats, leave."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.support.lesson_channel import LessonClient, bearer
from tests.support.tokens import Tokens
from tests.support.wait import wait_for


async def kinds_of(client: httpx.AsyncClient, tokens: Tokens, lesson_id: str) -> list[tuple[str, str, str]]:
    response = await client.get(f"/api/lessons/{lesson_id}/presence", headers=tokens.teacher())
    assert response.status_code == 200, response.text
    return [(e["kind"], e["classroom"], e["session"]) for e in response.json()["events"]]


async def test_each_classroom_session_is_joined_beaten_and_left(
    base: str, lesson_id: str, tokens: Tokens, client: httpx.AsyncClient, app: Starlette
) -> None:
    async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as room:
        await room.expect("welcome")
        app.state.connections.beat()
        async with LessonClient.connect(base, lesson_id, bearer(tokens.student("NJ-0001"))) as student:
            await student.expect("welcome")
    await wait_for(lambda: not app.state.connections.open_sessions(lesson_id))
    async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as again:
        await again.expect("welcome")
    await wait_for(lambda: not app.state.connections.open_sessions(lesson_id))
    await app.state.presence_log.flush()
    events = await kinds_of(client, tokens, lesson_id)
    assert [kind for kind, _room, _session in events] == [
        "classroom.join", "classroom.heartbeat", "classroom.leave", "classroom.join", "classroom.leave"]
    assert {room for _kind, room, _session in events} == {"nujiang-1"}  # the student is not a classroom
    first, second = events[0][2], events[3][2]
    assert first != second and events[2][2] == first and events[4][2] == second


async def test_a_classroom_still_connected_when_the_lesson_ends_is_left_at_the_end(
    base: str, lesson_id: str, tokens: Tokens, client: httpx.AsyncClient, app: Starlette
) -> None:
    async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as room:
        await room.expect("welcome")
        ended = await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())
        assert ended.status_code == 200
        await room.expect("lesson.ended")
    events = await kinds_of(client, tokens, lesson_id)
    assert [kind for kind, _room, _session in events] == ["classroom.join", "classroom.leave"]


async def test_connected_classrooms_hear_the_roll_call_at_once(
    base: str, lesson_id: str, tokens: Tokens, client: httpx.AsyncClient, app: Starlette
) -> None:
    await app.state.lessons.go_live(lesson_id)
    async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as room, \
            LessonClient.connect(base, lesson_id, bearer(tokens.student("NJ-0001"))) as student:
        await room.expect("welcome")
        await student.expect("welcome")
        opened = await client.post(f"/api/lessons/{lesson_id}/rollcalls", headers=tokens.teacher())
        assert opened.status_code == 201, opened.text
        assert opened.json()["classrooms_told"] == 1
        heard = await room.expect("rollcall.started")
        assert heard["rollcall"] == opened.json()["rollcall"] and heard["answer_by"] == opened.json()["answer_by"]
    assert not [m for m in student.seen if m["type"] == "rollcall.started"]
