"""GroupCommit: the queue and writer task behind the high-rate appends (presence, training events).

Callers queue a batch with a future and return at once; one writer task takes everything queued so
far and hands it to ``commit`` (one transaction for the lot), which answers the batches' futures only
after the commit. ``flush()`` waits until everything queued so far is committed: queueing clears
``idle``, the writer sets it again once the queue is empty and committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from classroom.errors import Conflict

__all__ = ["GroupCommit"]

B = TypeVar("B")


class GroupCommit(Generic[B]):
    def __init__(self, name: str, commit: Callable[[list[B]], Awaitable[None]], max_queued: int) -> None:
        self._name = name
        self._commit = commit
        self._max_queued = max_queued
        self._queue: list[B] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._writer(), name=self._name)

    def enqueue(self, batch: B) -> None:
        """Queue ``batch`` for the next commit; Conflict when the queue is full (nothing queued)."""
        if self._task is None:
            raise RuntimeError(f"the {self._name} is not started")
        if len(self._queue) >= self._max_queued:
            raise Conflict(f"the {self._name} is saturated; retry shortly")
        self._queue.append(batch)
        self._idle.clear()
        self._wake.set()

    async def flush(self) -> None:
        await self._idle.wait()

    async def stop(self) -> None:
        """Commit what is queued, then stop the writer; idempotent."""
        await self.flush()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batches, self._queue = self._queue, []
            if batches:
                await self._commit(batches)
            if not self._queue:
                self._idle.set()
