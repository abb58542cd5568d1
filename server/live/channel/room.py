"""LessonRoom: who is in a live lesson, the stage, chat, and fan-out of room events."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from starlette.websockets import WebSocketDisconnect

from classroom import stage as stage_rules
from classroom.principal import Principal
from classroom.roles import Role
from classroom.stage import Stage
from classroom.training.scenario import Scenario
from media import Router
from server.presence.connections import ClassroomConnections
from server.replay.timeline import append_lesson_event
from server.training.event_log import EventLog
from server.training.owner import LineOwner

from .participant import Participant
from .quality import QualityReporter

__all__ = ["LessonRoom"]

log = logging.getLogger(__name__)


class LessonRoom:
    def __init__(self, lesson_id: str, router: Router, stage_capacity: int, event_log: EventLog,
                 connections: ClassroomConnections | None = None) -> None:
        self.lesson_id = lesson_id
        self.router = router
        self.stage = Stage(capacity=stage_capacity)
        self.participants: dict[Principal, Participant] = {}
        """Keyed by principal: only the same school, role and subject replaces a connection."""
        self.training: LineOwner | None = None
        self._classroom_names: dict[str, Principal] = {}
        """Every classroom admitted while the room lives, by name (see :meth:`claim`)."""
        self._event_log = event_log
        self._connections = connections
        self.quality = QualityReporter(lesson_id, lambda: self.participants.values())
        """Sends the teacher each participant's link quality while a teacher is connected."""

    async def load_training(self, scenario: Scenario) -> None:
        """Start a fresh line for ``scenario``; every participant gets its snapshot."""
        if self.training is not None:
            await self.training.close()
        self.training = LineOwner(self.lesson_id, scenario, self._event_log)
        self.training.start()
        for participant in self.participants.values():
            self.training.join(participant)

    def present_classrooms(self) -> frozenset[str]:
        return frozenset(p.subject for p in self.participants.values() if p.role is Role.CLASSROOM)

    def classroom(self, subject: str) -> Participant | None:
        """The present classroom named ``subject`` (classroom names are unique within a room)."""
        return next((p for p in self.participants.values() if p.role is Role.CLASSROOM and p.subject == subject),
                    None)

    def claim(self, principal: Principal) -> bool:
        """Reserve a classroom's name for its school, for the room's life; False if another school's
        classroom of that name has been here. Stage, feeds and station assignments name classrooms by
        subject and outlast a connection (a station stays assigned when its classroom steps out), so a
        namesake coming later would inherit them."""
        if principal.role is not Role.CLASSROOM:
            return True
        holder = self._classroom_names.setdefault(principal.subject, principal)
        return holder == principal

    async def join(self, participant: Participant) -> None:
        previous = self.participants.get(participant.principal)
        self.participants[participant.principal] = participant
        if previous is not None:
            self._disconnected(previous)
        self._connected(participant)
        if previous is not None:
            previous.send({"type": "error", "code": "replaced", "message": "a newer connection took over"})
            await previous.close()
            await previous.websocket.close(code=4409, reason="replaced by a newer connection")
        else:
            self.broadcast({"type": "presence", "event": "joined", "participant": participant.describe()},
                           exclude=participant)
            await self.record("join", participant.describe())
        participant.send(self.welcome(participant))
        participant.feeds_changed()
        if participant.role is Role.TEACHER:
            self.quality.start()
        if self.training is not None:
            if previous is not None:
                self.training.leave(previous)
            self.training.join(participant)

    async def leave(self, participant: Participant) -> None:
        if self.participants.get(participant.principal) is not participant:
            await participant.close()
            return
        del self.participants[participant.principal]
        self._disconnected(participant)
        if self.training is not None:
            self.training.leave(participant)
        await participant.close()
        if not any(p.role is Role.TEACHER for p in self.participants.values()):
            await self.quality.close()
        await self.set_stage(stage_rules.leave_lesson(self.stage, participant.subject))
        self.broadcast({"type": "presence", "event": "left", "participant": participant.describe()})
        await self.record("leave", participant.describe())

    def _connected(self, participant: Participant) -> None:
        if self._connections is not None and participant.role is Role.CLASSROOM:
            self._connections.joined(self.lesson_id, participant.subject, participant.session)

    def _disconnected(self, participant: Participant) -> None:
        if self._connections is not None and participant.role is Role.CLASSROOM:
            self._connections.left(participant.session)

    def welcome(self, participant: Participant) -> dict[str, Any]:
        return {
            "type": "welcome",
            "lesson": self.lesson_id,
            "you": participant.describe(),
            "participants": [p.describe() for p in self.participants.values()],
            "stage": self.stage.to_json(),
            "feeds": sorted(self.router.live_feeds()),
            "training": self.training.scenario.id if self.training is not None else None,
        }

    async def set_stage(self, stage: Stage) -> None:
        if stage == self.stage:
            return
        self.stage = stage
        self.broadcast({"type": "stage", **stage.to_json()})
        await self.record("stage", stage.to_json())

    async def chat(self, sender: Participant, text: str) -> None:
        self.broadcast({"type": "chat", "from": sender.describe(), "text": text, "at": time.time()})
        await self.record("chat", {"from": sender.describe(), "text": text})

    async def record(self, kind: str, body: dict[str, Any]) -> None:
        """Append a lesson event to the timeline; the lesson goes on if the log cannot take it."""
        try:
            await append_lesson_event(self._event_log, self.lesson_id, kind, body)
        except Exception:
            log.exception("timeline event lost lesson=%s kind=%s", self.lesson_id, kind)

    def broadcast(self, message: dict[str, Any], exclude: Participant | None = None) -> None:
        for participant in list(self.participants.values()):
            if participant is not exclude:
                participant.send(message)

    async def close(self, reason: str) -> None:
        await self.quality.close()
        if self.training is not None:
            await self.training.close()
            self.training = None
        for participant in list(self.participants.values()):
            self._disconnected(participant)
            participant.send({"type": "lesson.ended", "reason": reason})
            await participant.close()
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # it hung up first: close the others
                await participant.websocket.close(code=4409, reason=reason)
        self.participants.clear()
