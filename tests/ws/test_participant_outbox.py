"""A client that stops reading is disconnected instead of holding messages for ever."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiortc import RTCConfiguration

from classroom.access import Claims
from classroom.principal import Principal
from classroom.roles import Role
from media import Router
from server.live.channel.participant import OUTBOX, Participant
from tests.support.wait import wait_for


class StuckSocket:
    """A WebSocket whose first send never completes, as with a client that stopped reading."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))
        await asyncio.Event().wait()

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await asyncio.Event().wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code


async def test_a_client_that_stops_reading_is_hung_up_on_with_1008_and_later_messages_are_dropped() -> None:
    router = Router("L1", RTCConfiguration())
    socket = StuckSocket()
    claims = Claims(Principal("west", Role.CLASSROOM, "kunming-2"), "*", (), 2**31)
    participant = Participant(socket, claims, router)  # type: ignore[arg-type]
    try:
        participant.send({"type": "chat", "text": "first"})
        await wait_for(lambda: len(socket.sent) == 1, timeout=5)  # the writer is now stuck in its send
        for index in range(OUTBOX + 1):
            participant.send({"type": "chat", "text": str(index)})
        await wait_for(lambda: socket.closed_with is not None, timeout=5)
        assert socket.closed_with == 1008
        participant.send({"type": "chat", "text": "after"})
        assert len(socket.sent) == 1  # only the first message ever reached the stuck send
    finally:
        await participant.close()
        await router.close()
    assert all(task.done() for task in participant._tasks)
