"""Incoming lesson-channel messages: one validated model per ``type``.

Every message is a JSON object with a ``type`` and an optional ``id`` that the
reply echoes. Unknown types, unknown fields, wrong types and oversized values
are rejected with an ``error`` reply and change nothing. The frame is read by
:func:`server.edge.wire_json.loads` (no NaN/Infinity, no huge integers, no deep
nesting, no lone surrogates or control characters other than tab and line
breaks); ids, subjects and titles refuse those line characters as well.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from classroom.fields import text_problem
from server.edge.wire_json import JsonRejected, loads

__all__ = ["BadMessage", "Incoming", "parse_message"]



def _one_line(value: str) -> str:
    """Ids, subjects and titles: no control characters at all (not even tab or line breaks)."""
    problem = text_problem(value, lines=False)
    if problem is not None:
        raise ValueError(problem)
    return value


OneLine = AfterValidator(_one_line)
Subject = Annotated[str, StringConstraints(min_length=1, max_length=128), OneLine]
Sdp = Annotated[str, StringConstraints(min_length=3, max_length=60_000)]
FeedName = Literal["camera", "mic", "screen"]
RequestId = Annotated[str, StringConstraints(max_length=64), OneLine] | int | None


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    id: RequestId = None


class PublishOffer(_Message):
    type: Literal["publish.offer"]
    sdp: Sdp
    feeds: dict[Annotated[str, StringConstraints(max_length=16), OneLine], FeedName] = Field(max_length=8)
    restart: bool = False


class PublishStop(_Message):
    type: Literal["publish.stop"]
    feed: FeedName


class SubscribeAnswer(_Message):
    type: Literal["subscribe.answer"]
    sdp: Sdp


class SubscribeRestart(_Message):
    type: Literal["subscribe.restart"]


class HandRaise(_Message):
    type: Literal["hand.raise"]


class HandLower(_Message):
    type: Literal["hand.lower"]
    subject: Subject | None = None  # the teacher may lower a classroom's hand


class StageInvite(_Message):
    type: Literal["stage.invite"]
    subject: Subject


class StageRemove(_Message):
    type: Literal["stage.remove"]
    subject: Subject


class StageLeave(_Message):
    type: Literal["stage.leave"]


class ChatSend(_Message):
    type: Literal["chat.send"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


class MarkerAdd(_Message):
    type: Literal["marker.add"]
    title: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), OneLine]


class MediaVideo(_Message):
    type: Literal["media.video"]
    enabled: bool


class Ping(_Message):
    type: Literal["ping"]


class TrainingLoad(_Message):
    type: Literal["training.load"]
    scenario: Annotated[str, StringConstraints(min_length=1, max_length=64), OneLine] | dict[str, Any]
    """a shipped scenario's name, or a whole scenario document (docs/scenarios.md)"""


class TrainingCommand(_Message):
    type: Literal["training.command"]
    command: dict[str, Any] = Field(max_length=8)  # validated by classroom.training.commands


class TrainingResync(_Message):
    type: Literal["training.resync"]
    revision: Annotated[int, Field(ge=0)]


MODELS: tuple[type[_Message], ...] = (
    PublishOffer, PublishStop, SubscribeAnswer, SubscribeRestart, HandRaise, HandLower, StageInvite,
    StageRemove, StageLeave, ChatSend, MediaVideo, Ping, TrainingLoad, TrainingCommand, TrainingResync, MarkerAdd,
)
Incoming = Annotated[
    PublishOffer | PublishStop | SubscribeAnswer | SubscribeRestart | HandRaise | HandLower | StageInvite
    | StageRemove | StageLeave | ChatSend | MediaVideo | Ping | TrainingLoad | TrainingCommand | TrainingResync
    | MarkerAdd,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Incoming)
TYPES = frozenset(get_args(model.model_fields["type"].annotation)[0] for model in MODELS)
"""Every message type a client may send."""


class BadMessage(Exception):
    def __init__(self, code: str, message: str, request_id: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def _request_id(data: object) -> str | int | None:
    """The ``id`` to echo in an error: only one that is itself valid (never echo bad text back)."""
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, str) and text_problem(value, lines=False) is not None:
        return None
    return value


def parse_message(raw: str | bytes, limit: int) -> Any:
    """The validated message, or BadMessage with a code the client can act on (and nothing else)."""
    if (len(raw) if isinstance(raw, bytes) else len(raw.encode(errors="replace"))) > limit:
        raise BadMessage("too_large", f"message exceeds {limit} bytes")
    try:
        data = loads(raw)
    except JsonRejected as exc:
        code = "bad_json" if exc.syntax else "bad_message"
        raise BadMessage(code, exc.describe("message"), _request_id(exc.document)) from None
    if not isinstance(data, dict):
        raise BadMessage("bad_message", "message must be a JSON object")
    request_id = _request_id(data)
    kind = data.get("type")
    if kind is not None and not isinstance(kind, str):
        raise BadMessage("bad_message", "type must be a string", request_id)
    if kind not in TYPES:
        raise BadMessage("unknown_type", f"unknown message type {str(kind)[:40]!r}", request_id)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])[:80]
        where = where if where and where.isprintable() else "message"
        raise BadMessage("invalid", f"{where}: {first['msg']}", request_id) from None
