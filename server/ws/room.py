"""LessonRoom: who is in a live lesson, the stage, chat, and fan-out of room events."""

from __future__ import annotations

import logging
import time
from typing import Any

from classroom import stage as stage_rules
from classroom.roles import Role
from classroom.stage import Stage
from media import Router

from .participant import Participant

__all__ = ["LessonRoom"]

log = logging.getLogger(__name__)


class LessonRoom:
    def __init__(self, lesson_id: str, router: Router, stage_capacity: int) -> None:
        self.lesson_id = lesson_id
        self.router = router
        self.stage = Stage(capacity=stage_capacity)
        self.participants: dict[str, Participant] = {}

    def present_classrooms(self) -> frozenset[str]:
        return frozenset(s for s, p in self.participants.items() if p.role is Role.CLASSROOM)

    async def join(self, participant: Participant) -> None:
        previous = self.participants.get(participant.subject)
        self.participants[participant.subject] = participant
        if previous is not None:
            previous.send({"type": "error", "code": "replaced", "message": "a newer connection took over"})
            await previous.close()
            await previous.websocket.close(code=4409, reason="replaced by a newer connection")
        else:
            self.broadcast({"type": "presence", "event": "joined", "participant": participant.describe()},
                           exclude=participant)
        participant.send(self.welcome(participant))
        participant.feeds_changed()

    async def leave(self, participant: Participant) -> None:
        if self.participants.get(participant.subject) is not participant:
            await participant.close()
            return
        del self.participants[participant.subject]
        await participant.close()
        self.set_stage(stage_rules.leave_lesson(self.stage, participant.subject))
        self.broadcast({"type": "presence", "event": "left", "participant": participant.describe()})

    def welcome(self, participant: Participant) -> dict[str, Any]:
        return {
            "type": "welcome",
            "lesson": self.lesson_id,
            "you": participant.describe(),
            "participants": [p.describe() for p in self.participants.values()],
            "stage": self.stage.to_json(),
            "feeds": sorted(self.router.live_feeds()),
        }

    def set_stage(self, stage: Stage) -> None:
        if stage == self.stage:
            return
        self.stage = stage
        self.broadcast({"type": "stage", **stage.to_json()})

    def chat(self, sender: Participant, text: str) -> None:
        self.broadcast({"type": "chat", "from": sender.describe(), "text": text, "at": time.time()})

    def broadcast(self, message: dict[str, Any], exclude: Participant | None = None) -> None:
        for participant in list(self.participants.values()):
            if participant is not exclude:
                participant.send(message)

    async def close(self, reason: str) -> None:
        for participant in list(self.participants.values()):
            participant.send({"type": "lesson.ended", "reason": reason})
            await participant.close()
            await participant.websocket.close(code=4409, reason=reason)
        self.participants.clear()
