"""The bounded wait on a condition, instead of bare sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["wait_for"]


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until ``predicate()`` is true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
