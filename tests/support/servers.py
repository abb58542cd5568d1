"""Real servers for tests that talk HTTP or WebSocket to them: an app served by uvicorn on a free
loopback port, in the test's own event loop (``running_server``) or in a thread (``wait_started``)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette

__all__ = ["free_port", "running_server", "wait_started"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields the ws:// base URL."""
    port = free_port()
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


def wait_started(server: uvicorn.Server, thread: threading.Thread, timeout_s: float = 15.0) -> int:
    """Wait until ``server`` (running in ``thread``) listens; return its port."""
    deadline = time.monotonic() + timeout_s
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, f"uvicorn did not start within {timeout_s:.0f} s"
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port
