"""The rooms of the live lessons on this node."""

from __future__ import annotations

from typing import Any

from classroom.roles import Role
from media import MediaEngine
from server.presence.connections import ClassroomConnections
from server.training.event_log import EventLog

from .room import LessonRoom

__all__ = ["Rooms"]


class Rooms:
    def __init__(self, engine: MediaEngine, stage_capacity: int, event_log: EventLog,
                 connections: ClassroomConnections | None = None) -> None:
        self._engine = engine
        self._connections = connections
        self._capacity = stage_capacity
        self._event_log = event_log
        self.rooms: dict[str, LessonRoom] = {}

    def room(self, lesson_id: str) -> LessonRoom:
        room = self.rooms.get(lesson_id)
        if room is None or room.router.closed:
            room = self.rooms[lesson_id] = LessonRoom(lesson_id, self._engine.router(lesson_id), self._capacity,
                                                        self._event_log, self._connections)
        return room

    def tell_teacher(self, lesson_id: str, message: dict[str, Any]) -> None:
        """Send ``message`` to the lesson's teacher, if connected."""
        room = self.rooms.get(lesson_id)
        for participant in list(room.participants.values()) if room is not None else ():
            if participant.role is Role.TEACHER:
                participant.send(message)

    def discard_if_empty(self, lesson_id: str) -> None:
        room = self.rooms.get(lesson_id)
        if room is not None and not room.participants and room.training is None:
            del self.rooms[lesson_id]

    def broadcast(self, lesson_id: str, message: dict[str, Any], role: Role | None = None) -> int:
        """Send ``message`` to the lesson's participants (of ``role``); how many were sent it."""
        room = self.rooms.get(lesson_id)
        targets = [p for p in (room.participants.values() if room is not None else ()) if role in (None, p.role)]
        for participant in targets:
            participant.send(message)
        return len(targets)

    async def lesson_ended(self, lesson_id: str) -> None:
        room = self.rooms.pop(lesson_id, None)
        if room is not None:
            await room.close("the lesson has ended")

    async def close(self) -> None:
        for lesson_id in list(self.rooms):
            room = self.rooms.pop(lesson_id)
            await room.close("the server is shutting down")
