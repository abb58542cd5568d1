"""A lesson-channel client for tests (a real WebSocket to a real uvicorn server), tokens as query strings,
and the channel's publish and subscribe steps with real aiortc peers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.support.peers import Subscriber, SyntheticAudio, SyntheticVideo, publisher_offer

__all__ = ["LessonClient", "answer_offers", "bearer", "publish"]


class LessonClient:
    """Sends messages and waits (bounded) for the next message of a given type."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.ws = connection
        self.seen: list[dict[str, Any]] = []
        self._next_id = 0

    @classmethod
    @asynccontextmanager
    async def connect(cls, base: str, lesson_id: str, token: str) -> AsyncIterator[LessonClient]:
        async with websockets.connect(f"{base}/ws/lessons/{lesson_id}?access_token={token}") as ws:
            yield cls(ws)

    async def send(self, message: dict[str, Any]) -> str:
        self._next_id += 1
        request_id = f"r{self._next_id}"
        await self.ws.send(json.dumps({**message, "id": request_id}))
        return request_id

    async def send_raw(self, raw: str | bytes) -> None:
        await self.ws.send(raw)

    async def expect(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first unseen message of ``kind`` whose fields equal ``match``."""
        return await self.expect_where(kind, lambda m: all(m.get(k) == v for k, v in match.items()), timeout)

    async def expect_where(self, kind: str, predicate: Callable[[dict[str, Any]], bool],
                           timeout: float = 10.0) -> dict[str, Any]:
        """The first unseen message of ``kind`` that satisfies ``predicate`` (others stay unseen)."""
        return await self.first(lambda m: m["type"] == kind and predicate(m), timeout)

    async def first(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first unseen message that satisfies ``predicate`` (others stay unseen)."""
        for index, message in enumerate(self.seen):
            if predicate(message):
                return self.seen.pop(index)
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if predicate(message):
                    return message
                self.seen.append(message)

    async def request(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send and return the reply (or error) carrying the same id."""
        request_id = await self.send(message)
        async with asyncio.timeout(timeout):
            while True:
                for index, seen in enumerate(self.seen):
                    if seen.get("id") == request_id:
                        return self.seen.pop(index)
                self.seen.append(json.loads(await self.ws.recv()))


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def publish(client: LessonClient, feeds: dict[str, str], restart: bool = False) -> RTCPeerConnection:
    """A new aiortc publisher sending synthetic media into ``feeds`` ({mid: feed name})."""
    pc = RTCPeerConnection()
    tracks = [SyntheticVideo() if name != "mic" else SyntheticAudio() for name in feeds.values()]
    sdp = await publisher_offer(pc, *tracks)
    message: dict[str, object] = {"type": "publish.offer", "sdp": sdp, "feeds": feeds}
    if restart:
        message["restart"] = True
    reply = await client.request(message)
    assert reply["type"] == "publish.answer", reply
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    return pc


async def answer_offers(client: LessonClient, viewer: Subscriber) -> dict[str, str]:
    """Answer the next ``subscribe.offer`` with ``viewer``; returns its tracks {mid: feed}."""
    offer = await client.expect("subscribe.offer")
    reply = await client.request({"type": "subscribe.answer", "sdp": await viewer.answer(offer["sdp"])})
    assert reply["type"] == "ack", reply
    return dict(offer["tracks"])
