"""Classroom connections: each lesson-channel session of a remote classroom, as presence events.

The lesson rooms call :meth:`ClassroomConnections.joined` and :meth:`left`; while a session is
open, one owned task appends a heartbeat for it every ``heartbeat_s``. If the process dies, the
session has no leave and the attendance policy ends it at its last heartbeat, so a crash costs a
classroom at most one heartbeat period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from classroom.attendance import PresenceEvent, PresenceKind
from server.presence.log import PresenceLog

__all__ = ["HEARTBEAT_S", "ClassroomConnections"]

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
SERVER_AUTHOR = "server"


@dataclass(frozen=True)
class _Session:
    lesson: str
    classroom: str
    session: str


class ClassroomConnections:
    """Open classroom sessions of this node and their heartbeats."""

    def __init__(self, presence: PresenceLog, *, heartbeat_s: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._presence = presence
        self._heartbeat_s = heartbeat_s
        self._clock = clock
        self._open: dict[str, _Session] = {}
        self._beats = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._beat_forever(), name="classroom-heartbeats")

    async def close(self) -> None:
        """Stop beating; sessions still open get no leave (the process is going away)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def open_sessions(self, lesson: str) -> list[str]:
        return sorted(s.session for s in self._open.values() if s.lesson == lesson)

    def joined(self, lesson: str, classroom: str, session: str) -> None:
        """A classroom's connection to ``lesson`` opened."""
        entry = _Session(lesson, classroom, session)
        self._open[session] = entry
        self._record(entry, PresenceKind.CLASSROOM_JOIN, f"join:{session}")
        log.info("classroom connected lesson=%s classroom=%s session=%s", lesson, classroom, session)

    def left(self, session: str) -> None:
        """The connection closed (cleanly, replaced, or the lesson ended)."""
        entry = self._open.pop(session, None)
        if entry is None:
            return
        self._record(entry, PresenceKind.CLASSROOM_LEAVE, f"leave:{session}")
        log.info("classroom disconnected lesson=%s classroom=%s session=%s", entry.lesson, entry.classroom, session)

    def beat(self) -> None:
        """One heartbeat for every open session (the task calls this every ``heartbeat_s``)."""
        self._beats += 1
        events = [self._event(entry, PresenceKind.CLASSROOM_HEARTBEAT, f"beat:{entry.session}:{self._beats}")
                  for entry in self._open.values()]
        if events:
            self._presence.submit(events, SERVER_AUTHOR)

    def _record(self, entry: _Session, kind: PresenceKind, key: str) -> None:
        try:
            self._presence.submit([self._event(entry, kind, key)], SERVER_AUTHOR)
        except Exception:  # a full or stopped log must not break the lesson channel
            log.exception("presence event lost lesson=%s classroom=%s kind=%s", entry.lesson, entry.classroom,
                          kind.value)

    def _event(self, entry: _Session, kind: PresenceKind, key: str) -> PresenceEvent:
        return PresenceEvent(lesson=entry.lesson, kind=kind, at=self._clock(), classroom=entry.classroom,
                             session=entry.session, source="server", key=f"{entry.lesson}:{key}")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                self.beat()
            except Exception:
                log.exception("classroom heartbeats not recorded")
