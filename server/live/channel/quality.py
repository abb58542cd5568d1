"""Link quality for the teacher: each participant's loss, round trip and bitrates as the server sees them.

The figures come from what the media plane already measures: the fraction lost and the round trip
in the receiver reports a participant sends for the feeds it receives (its consumers), the bytes
the server sent it (its consumers) and the bytes it sent the server (its producers, while it
publishes). A reporter task, owned by the room while a teacher is connected, sends the teacher a
``quality`` message every ``every_s`` seconds (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from classroom.principal import Principal
from classroom.roles import Role

from .participant import Participant

__all__ = ["Counters", "QualityReporter", "counters_of", "link_quality"]

log = logging.getLogger(__name__)

QUALITY_EVERY_S = 2.0


@dataclass(frozen=True, slots=True)
class Counters:
    """One participant's media counters at one moment (monotonic seconds)."""

    at: float
    sent_to: int
    """payload bytes the server has sent it (its current subscriber connection)"""
    received_from: int | None
    """payload bytes the server has received from it, None while it publishes nothing"""
    loss: float | None
    rtt: float | None


def counters_of(participant: Participant, now: float) -> Counters:
    consumers = [c for c in participant.slots if not c.closed and c.packets]
    producers = list(participant.publisher.producers.values()) if participant.publisher is not None else []
    live = [p for p in producers if not p.closed]
    rtts = [c.rtt for c in consumers if c.rtt is not None]
    return Counters(
        at=now,
        sent_to=sum(c.octets for c in participant.slots),
        received_from=sum(p.octets for p in live) if live else None,
        loss=max((c.loss for c in consumers), default=None),
        rtt=sum(rtts) / len(rtts) if rtts else None,
    )


def _kbps(before: int | None, after: int | None, seconds: float) -> float | None:
    if after is None or seconds <= 0:
        return None
    delta = after - before if before is not None and after >= before else after
    return round(delta * 8 / 1000 / seconds, 1)


def link_quality(before: Counters | None, now: Counters) -> dict[str, Any]:
    """The wire figures of one participant between two samples (bitrates need two)."""
    seconds = now.at - before.at if before is not None else 0.0
    return {
        "loss": round(now.loss, 3) if now.loss is not None else None,
        "rtt_ms": round(now.rtt * 1000, 1) if now.rtt is not None else None,
        "receive_kbps": _kbps(before.sent_to if before else None, now.sent_to, seconds),
        "send_kbps": _kbps(before.received_from if before else None, now.received_from, seconds),
    }


class QualityReporter:
    """Sends the teachers a ``quality`` message every ``every_s``; its task is cancelled in ``close()``."""

    def __init__(self, lesson_id: str, participants: Callable[[], Iterable[Participant]],
                 every_s: float = QUALITY_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._lesson_id = lesson_id
        self._participants = participants
        self._every_s = every_s
        self._clock = clock
        self._last: dict[tuple[Principal, str], Counters] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._last.clear()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                self.report()
            except Exception:
                log.exception("quality report failed lesson=%s", self._lesson_id)

    def report(self) -> None:
        """Sample every participant now and send the teachers the figures."""
        everyone = list(self._participants())
        message = {"type": "quality", "participants": self.sample(p for p in everyone if p.role is not Role.TEACHER)}
        for participant in everyone:
            if participant.role is Role.TEACHER:
                participant.send(message)

    def sample(self, participants: Iterable[Participant]) -> list[dict[str, Any]]:
        now, rows, seen = self._clock(), [], {}
        for participant in participants:
            key = (participant.principal, participant.session)
            counters = seen[key] = counters_of(participant, now)
            rows.append({**participant.describe(), **link_quality(self._last.get(key), counters)})
        self._last = seen
        return rows
