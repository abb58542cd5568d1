"""WHIP and WHEP sessions: who publishes and who watches each lesson's media.

One teacher publishes per lesson: a new WHIP session from her replaces the old
one (page reload, network change); viewers stay bound to the lesson's feeds and
receive the new stream without re-joining.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from classroom.access import Claims, can_join, can_publish, can_view, covers_lesson
from classroom.feeds import whip_feed
from classroom.lessons import Lesson, LessonState
from classroom.principal import Principal
from media import MediaEngine, Transport, check_description
from server.edge.errors import ConflictError, Forbidden, NotFoundError
from server.lessons.service import Lessons
from server.live.session_slots import SessionLimits, SessionSlots

__all__ = ["LiveMedia", "MediaSession"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaSession:
    id: str
    lesson_id: str
    kind: str  # "whip" | "whep"
    principal: Principal
    transport: Transport


class LiveMedia:
    def __init__(self, engine: MediaEngine, lessons: Lessons, limits: SessionLimits | None = None) -> None:
        self.engine = engine
        self._lessons = lessons
        self.sessions: dict[str, MediaSession] = {}
        self.slots = SessionSlots(limits or SessionLimits())
        lessons.on_ended.append(self.lesson_ended)

    async def publish(self, claims: Claims, lesson_id: str, offer: str) -> tuple[MediaSession, str]:
        lesson = await self._open_lesson(claims, lesson_id, publish=True)
        replacing = [s.id for s in self._sessions_of(lesson_id, "whip")]
        session, answer = await self._negotiate("whip", claims, lesson, offer, replacing)
        for old in self._sessions_of(lesson_id, "whip", exclude=session.id):
            log.info("teacher republished lesson=%s replacing=%s", lesson_id, old.id)
            await self._close(old)
        await self._lessons.go_live(lesson_id)
        return session, answer

    async def watch(self, claims: Claims, lesson_id: str, offer: str) -> tuple[MediaSession, str]:
        lesson = await self._open_lesson(claims, lesson_id, publish=False)
        return await self._negotiate("whep", claims, lesson, offer)

    async def end_session(self, claims: Claims, kind: str, lesson_id: str, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None or session.lesson_id != lesson_id or session.kind != kind:
            raise NotFoundError(f"no {kind.upper()} session {session_id} in lesson {lesson_id}")
        if session.principal != claims.principal or not covers_lesson(claims, lesson_id):
            raise Forbidden("only the session's owner may end it")
        await self._close(session)

    async def lesson_ended(self, lesson_id: str) -> None:
        for session in self._sessions_of(lesson_id):
            self.sessions.pop(session.id, None)
            self.slots.release(session.id)
        await self.engine.close_router(lesson_id)

    async def close(self) -> None:
        for session_id in self.sessions:
            self.slots.release(session_id)
        self.sessions.clear()
        await self.engine.close()

    async def _open_lesson(self, claims: Claims, lesson_id: str, *, publish: bool) -> Lesson:
        if not can_view(claims, lesson_id):
            raise Forbidden(f"token does not cover lesson {lesson_id}")
        lesson = await self._lessons.get(lesson_id)
        if publish and not can_publish(claims, lesson):
            raise Forbidden("only the lesson's teacher may publish")
        if not can_join(claims, lesson):
            raise Forbidden("a teacher watches only her own lesson")
        if lesson.state is LessonState.ENDED:
            raise ConflictError(f"lesson {lesson_id} has ended")
        return lesson

    async def _negotiate(self, kind: str, claims: Claims, lesson: Lesson, offer: str,
                         replacing: list[str] | None = None) -> tuple[MediaSession, str]:
        check_description(offer, "offer")  # before a router or a socket exists for it
        session_id = secrets.token_urlsafe(12)
        self.slots.reserve(session_id, claims.principal, lesson.id, replacing or ())
        try:
            transport, answer = await self._answer(kind, claims, lesson.id, offer)
        except BaseException:
            self.slots.release(session_id)
            raise
        session = MediaSession(session_id, lesson.id, kind, claims.principal, transport)
        self.sessions[session.id] = session

        def forget(_transport: Transport) -> None:
            self.sessions.pop(session.id, None)
            self.slots.release(session.id)

        transport.on_close(forget)
        log.info("%s session started lesson=%s session=%s principal=%s", kind, lesson.id, session.id,
                 claims.principal)
        return session, answer

    async def _answer(self, kind: str, claims: Claims, lesson_id: str, offer: str) -> tuple[Transport, str]:
        transport = self.engine.router(lesson_id).create_transport(owner=f"{kind}:{claims.principal}")
        taken: set[str] = set()

        def name_feed(track_kind: str, mid: str) -> str | None:
            if track_kind in taken or track_kind not in ("audio", "video"):
                return None  # one audio and one video track per WHIP/WHEP session
            taken.add(track_kind)
            return whip_feed(track_kind)

        try:
            return transport, await transport.accept_offer(offer, name_feed)
        except BaseException:
            await transport.close()
            raise

    def _sessions_of(self, lesson_id: str, kind: str | None = None, exclude: str = "") -> list[MediaSession]:
        return [s for s in self.sessions.values()
                if s.lesson_id == lesson_id and (kind is None or s.kind == kind) and s.id != exclude]

    async def _close(self, session: MediaSession) -> None:
        self.sessions.pop(session.id, None)
        self.slots.release(session.id)
        await session.transport.close()
