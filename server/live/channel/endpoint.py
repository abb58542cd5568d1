"""The lesson WebSocket endpoint: authenticate, join the room, validate and dispatch messages."""

from __future__ import annotations

import logging
import time

from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from classroom.access import can_join, can_view
from classroom.errors import DomainError
from classroom.lessons import LessonState
from media import MediaError
from server.edge.auth import channel_subprotocol
from server.edge.errors import ApiError, ConflictError, Forbidden, Unauthorized, to_api_error, websocket_close
from server.edge.route_context import components, principal

from .handlers import HANDLERS, NO_REPLY, Context
from .messages import BadMessage, parse_message
from .participant import Participant
from .ratelimit import TokenBucket

__all__ = ["routes"]

log = logging.getLogger(__name__)

RATE, BURST = 20.0, 40.0  # messages per second per connection
CHAT_RATE, CHAT_BURST = 1.0, 5.0
COMMAND_RATE, COMMAND_BURST = 10.0, 20.0  # training commands per second per connection


async def _deny(websocket: WebSocket, exc: Exception) -> None:
    error = to_api_error(exc)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": {"code": error.code, "message": error.message}}
        await websocket.send_denial_response(JSONResponse(body, status_code=error.status))
    else:
        code, reason = websocket_close(exc)
        await websocket.close(code=code, reason=reason)


async def _admit(websocket: WebSocket) -> Participant | None:
    state = components(websocket)
    lesson_id = websocket.path_params["lesson_id"]
    try:
        claims = principal(websocket)
        if not can_view(claims, lesson_id):
            raise Forbidden(f"token does not cover lesson {lesson_id}")
        lesson = await state.lessons.get(lesson_id)
        if lesson.state is LessonState.ENDED:
            raise ConflictError(f"lesson {lesson_id} has ended")
        if not can_join(claims, lesson):
            raise Forbidden("only the lesson's own teacher joins it as a teacher")
        room = state.rooms.room(lesson_id)
        if not room.claim(claims.principal):
            raise ConflictError(f"a classroom named {claims.subject} of another school is or was in this lesson")
    except (ApiError, DomainError) as exc:
        await _deny(websocket, exc)
        return None
    await websocket.accept(subprotocol=channel_subprotocol(websocket.headers))
    participant = Participant(websocket, claims, room.router)
    await room.join(participant)
    return participant


async def lesson_socket(websocket: WebSocket) -> None:
    participant = await _admit(websocket)
    if participant is None:
        return
    state = components(websocket)
    room = state.rooms.room(websocket.path_params["lesson_id"])
    ctx = Context(room, participant, state.lessons, state.live_recordings)
    limit = state.settings.max_ws_message_bytes
    buckets = {"all": TokenBucket(RATE, BURST), "chat.send": TokenBucket(CHAT_RATE, CHAT_BURST),
               "training.command": TokenBucket(COMMAND_RATE, COMMAND_BURST)}
    try:
        while True:
            raw = await _receive(websocket)
            if participant.claims.expires_at <= time.time():
                await participant.close()
                await websocket.close(*websocket_close(Unauthorized("token expired")))
                return
            await _handle(ctx, raw, limit, buckets)
    except WebSocketDisconnect:
        pass
    finally:
        await room.leave(participant)
        state.rooms.discard_if_empty(room.lesson_id)


async def _receive(websocket: WebSocket) -> str | bytes:
    """The next text or binary frame (a binary frame is parsed as UTF-8 JSON)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


async def _handle(ctx: Context, raw: str | bytes, limit: int, buckets: dict[str, TokenBucket]) -> None:
    p = ctx.participant
    try:
        msg = parse_message(raw, limit)
        bucket = buckets.get(msg.type)
        if not buckets["all"].take() or (bucket is not None and not bucket.take()):
            raise BadMessage("rate_limited", "too many messages, slow down", msg.id)
        handler, roles = HANDLERS[msg.type]
        if p.role not in roles:
            raise BadMessage("forbidden", f"a {p.role.value} may not send {msg.type}", msg.id)
        reply = await handler(ctx, msg)
    except BadMessage as exc:
        p.send(_error(exc.code, exc.message, exc.request_id))
        return
    except (DomainError, ApiError, MediaError) as exc:
        p.send(_error(*_code_of(exc), getattr(msg, "id", None)))
        return
    if reply is NO_REPLY:
        return
    p.send({**(reply or {"type": "ack"}), "id": msg.id} if msg.id is not None else (reply or {"type": "ack"}))


def _code_of(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, MediaError):
        return "invalid_sdp", str(exc)
    error = to_api_error(exc)
    return error.code, error.message


def _error(code: str, message: str, request_id: object) -> dict[str, object]:
    error: dict[str, object] = {"type": "error", "code": code, "message": message}
    if request_id is not None:
        error["id"] = request_id
    return error


routes = [WebSocketRoute("/ws/lessons/{lesson_id}", lesson_socket)]
