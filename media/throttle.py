"""Keyframe request throttling: at most one request upstream per interval per producer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["KeyframeThrottle"]


class KeyframeThrottle:
    """Coalesces keyframe requests so the publisher sees at most one per ``interval``.

    A request inside the quiet window is not dropped: it is deferred to the end
    of the window, so a new consumer never waits more than ``interval``.
    """

    def __init__(self, send: Callable[[], None], interval: float = 0.5,
                 clock: Callable[[], float] | None = None) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock or asyncio.get_running_loop().time
        self._last: float | None = None
        self._deferred: asyncio.TimerHandle | None = None
        self.sent = 0

    def request(self) -> None:
        now = self._clock()
        if self._deferred is not None:
            return
        if self._last is None or now - self._last >= self._interval:
            self._fire()
            return
        delay = self._interval - (now - self._last)
        self._deferred = asyncio.get_running_loop().call_later(delay, self._fire_deferred)

    def close(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None

    def _fire_deferred(self) -> None:
        self._deferred = None
        self._fire()

    def _fire(self) -> None:
        self._last = self._clock()
        self.sent += 1
        self._send()
