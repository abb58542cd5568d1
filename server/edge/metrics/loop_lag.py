"""LoopLag: how late the event loop runs a timer, sampled by a small periodic task (a metric).

Media forwarding, the lesson channels and HTTP all share one event loop: when it is late, every
one of them is. The task sleeps ``interval`` seconds and records how much later than asked it
woke, into a cumulative histogram read by ``/metrics``.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib

__all__ = ["LAG_BUCKETS", "LoopLag"]

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Upper bounds in seconds of the histogram's buckets (+Inf is implicit)."""


class LoopLag:
    """Owns the sampling task: ``start()`` on the running loop, ``close()`` cancels and awaits it."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.counts = [0] * (len(LAG_BUCKETS) + 1)
        """samples per bucket (not cumulative); the last one is above the largest bound"""
        self.total = 0.0
        """sum of every sample, seconds"""
        self.last = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def samples(self) -> int:
        return sum(self.counts)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def record(self, lag: float) -> None:
        self.last = lag
        self.total += lag
        self.counts[bisect.bisect_left(LAG_BUCKETS, lag)] += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.record(max(0.0, loop.time() - due))
