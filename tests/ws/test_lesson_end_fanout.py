"""Ending a lesson tells and closes every participant, even when one of them has already hung up."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.websockets import WebSocketDisconnect

from classroom.roles import Role
from tests.support.lesson_channel import LessonClient, bearer
from tests.support.tokens import Tokens


async def test_a_participant_that_hung_up_does_not_keep_the_others_from_hearing_the_lesson_ended(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, client: httpx.AsyncClient
) -> None:
    async with (
        LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as classroom,
    ):
        await teacher.expect("welcome")
        await classroom.expect("welcome")
        room = app.state.rooms.rooms[lesson_id]
        gone = next(p for p in room.participants.values() if p.role is Role.TEACHER)
        assert list(room.participants.values())[0] is gone  # the one that hung up is closed first

        async def hung_up(code: int = 1000, reason: str | None = None) -> None:
            raise WebSocketDisconnect(1006)

        gone.websocket.close = hung_up
        response = await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())
        assert response.status_code == 200, response.text
        assert (await classroom.expect("lesson.ended"))["reason"]
        assert lesson_id not in app.state.rooms.rooms
