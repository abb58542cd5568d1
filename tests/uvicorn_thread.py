"""uvicorn in a thread on a loopback port: the real server for tests that talk HTTP to it."""

from __future__ import annotations

import threading
import time

import uvicorn

__all__ = ["wait_started"]


def wait_started(server: uvicorn.Server, thread: threading.Thread, timeout_s: float = 15.0) -> int:
    """Wait until ``server`` (running in ``thread``) listens; return its port."""
    deadline = time.monotonic() + timeout_s
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, f"uvicorn did not start within {timeout_s:.0f} s"
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port
