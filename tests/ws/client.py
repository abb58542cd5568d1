"""A lesson-channel client for tests: a real WebSocket to a real uvicorn server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets
from starlette.applications import Starlette

__all__ = ["LessonClient", "running_server"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields the ws:// base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.ensure_future(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


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
