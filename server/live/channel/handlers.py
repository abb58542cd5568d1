"""Lesson-channel handlers: one small function per message type, in a dispatch table.

Each entry names the roles allowed to send the message; everything else is
refused before the handler runs. A handler returns the reply (or None for a
plain ``ack``) and raises a DomainError/MediaError for the sender's error reply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from classroom import stage as stage_rules
from classroom.errors import Conflict, PermissionDenied
from classroom.roles import Role
from classroom.training.commands import parse_command
from classroom.training.scenario import parse_scenario
from server.lessons.service import Lessons
from server.replay.live_recordings import LiveRecordings
from server.training.scenarios import load_builtin

from . import messages as m
from .participant import Participant
from .room import LessonRoom

__all__ = ["HANDLERS", "NO_REPLY", "Context", "Handler"]

Reply = dict[str, Any] | None
NO_REPLY: dict[str, Any] = {}
"""A handler's answer will come later (from the training line's owner task)."""


@dataclass(frozen=True)
class Context:
    room: LessonRoom
    participant: Participant
    lessons: Lessons
    recordings: LiveRecordings


Handler = Callable[[Context, Any], Awaitable[Reply]]

ALL = frozenset(Role)
INTERACTIVE = frozenset({Role.TEACHER, Role.CLASSROOM})
TEACHER_ONLY = frozenset({Role.TEACHER})
STAGE_FEEDS = frozenset({"camera", "mic"})


async def publish_offer(ctx: Context, msg: m.PublishOffer) -> Reply:
    p = ctx.participant
    if p.role is Role.CLASSROOM:
        if p.subject not in ctx.room.stage.on_stage:
            raise PermissionDenied("a classroom publishes only while on stage")
        if not set(msg.feeds.values()) <= STAGE_FEEDS:
            raise PermissionDenied("a classroom on stage publishes its camera and mic only")
    answer = await p.publish(msg.sdp, dict(msg.feeds), msg.restart)
    if p.role is Role.TEACHER:
        await ctx.lessons.go_live(ctx.room.lesson_id)
    return {"type": "publish.answer", "sdp": answer}


async def publish_stop(ctx: Context, msg: m.PublishStop) -> Reply:
    await ctx.participant.stop_feed(msg.feed)
    return None


async def subscribe_answer(ctx: Context, msg: m.SubscribeAnswer) -> Reply:
    await ctx.participant.accept_answer(msg.sdp)
    return None


async def subscribe_restart(ctx: Context, msg: m.SubscribeRestart) -> Reply:
    await ctx.participant.restart_subscriber()
    return None


async def hand_raise(ctx: Context, msg: m.HandRaise) -> Reply:
    p = ctx.participant
    await ctx.room.set_stage(stage_rules.raise_hand(ctx.room.stage, p.role, p.subject))
    return None


async def hand_lower(ctx: Context, msg: m.HandLower) -> Reply:
    p = ctx.participant
    subject = msg.subject or p.subject
    if subject != p.subject and p.role is not Role.TEACHER:
        raise PermissionDenied("only the teacher lowers another classroom's hand")
    await ctx.room.set_stage(stage_rules.lower_hand(ctx.room.stage, subject))
    return None


async def stage_invite(ctx: Context, msg: m.StageInvite) -> Reply:
    room = ctx.room
    await room.set_stage(stage_rules.invite(room.stage, ctx.participant.role, msg.subject, room.present_classrooms()))
    invited = room.classroom(msg.subject)
    if invited is not None:
        invited.send({"type": "stage.invited", "by": ctx.participant.subject})
    return None


async def _leave_stage(ctx: Context, subject: str) -> None:
    room = ctx.room
    await room.set_stage(stage_rules.remove(room.stage, ctx.participant.role, ctx.participant.subject, subject))
    target = room.classroom(subject)
    if target is not None:
        await target.stop_publishing()


async def stage_remove(ctx: Context, msg: m.StageRemove) -> Reply:
    await _leave_stage(ctx, msg.subject)
    return None


async def stage_leave(ctx: Context, msg: m.StageLeave) -> Reply:
    await _leave_stage(ctx, ctx.participant.subject)
    return None


async def chat_send(ctx: Context, msg: m.ChatSend) -> Reply:
    await ctx.room.chat(ctx.participant, msg.text)
    return None


async def marker_add(ctx: Context, msg: m.MarkerAdd) -> Reply:
    by = ctx.participant.principal
    await ctx.room.record("marker", {"title": msg.title, "by": by.to_json()})
    chapter = await ctx.recordings.add_chapter(ctx.room.lesson_id, msg.title, str(by))
    return {"type": "ack", "chapter_at_s": chapter}


async def media_video(ctx: Context, msg: m.MediaVideo) -> Reply:
    ctx.participant.set_video(msg.enabled)
    return None


async def ping(ctx: Context, msg: m.Ping) -> Reply:
    return {"type": "pong"}


async def training_load(ctx: Context, msg: m.TrainingLoad) -> Reply:
    scenario = load_builtin(msg.scenario) if isinstance(msg.scenario, str) else parse_scenario(msg.scenario)
    await ctx.room.load_training(scenario)
    return {"type": "ack", "scenario": scenario.id}


async def training_command(ctx: Context, msg: m.TrainingCommand) -> Reply:
    p = ctx.participant
    owner = ctx.room.training
    if owner is None:
        raise Conflict("no training line is loaded in this lesson")
    command = parse_command(msg.command)
    if not owner.submit(p, p.principal, command, msg.command, msg.id):
        raise Conflict("the training line is saturated, try again")
    return NO_REPLY


async def training_resync(ctx: Context, msg: m.TrainingResync) -> Reply:
    if ctx.room.training is None:
        raise Conflict("no training line is loaded in this lesson")
    ctx.room.training.resync(ctx.participant, msg.revision)
    return NO_REPLY


HANDLERS: dict[str, tuple[Handler, frozenset[Role]]] = {
    "publish.offer": (publish_offer, INTERACTIVE),
    "publish.stop": (publish_stop, INTERACTIVE),
    "subscribe.answer": (subscribe_answer, ALL),
    "subscribe.restart": (subscribe_restart, ALL),
    "hand.raise": (hand_raise, INTERACTIVE),
    "hand.lower": (hand_lower, INTERACTIVE),
    "stage.invite": (stage_invite, TEACHER_ONLY),
    "stage.remove": (stage_remove, TEACHER_ONLY),
    "stage.leave": (stage_leave, INTERACTIVE),
    "chat.send": (chat_send, frozenset({Role.TEACHER, Role.CLASSROOM, Role.STUDENT})),
    "media.video": (media_video, ALL),
    "marker.add": (marker_add, TEACHER_ONLY),
    "ping": (ping, ALL),
    "training.load": (training_load, TEACHER_ONLY),
    "training.command": (training_command, INTERACTIVE),
    "training.resync": (training_resync, ALL),
}
