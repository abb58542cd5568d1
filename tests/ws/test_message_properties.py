"""Property tests for lesson-channel frames: whatever a client sends, ``parse_message`` (and the
strict JSON reader under it) gives a validated model or a ``BadMessage`` with a known code, never
another exception; a valid message survives a trip through the wire; and a real server answers
garbage with ``error`` and keeps the socket open."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from server.edge.wire_json import MAX_DEPTH, MAX_INT, JsonRejected, dumps, loads
from server.live.channel.messages import MODELS, TYPES, BadMessage, parse_message
from tests.support.lesson_channel import LessonClient, bearer
from tests.support.tokens import Tokens

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT = 65536
CODES = {"too_large", "bad_json", "bad_message", "unknown_type", "invalid"}

# --- strategies -----------------------------------------------------------------------------------

awkward_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", "\ud800", "a\udfffb", "\x00", "\x1b[31m", "\u0085", "\t\n\r", "\ufeff", "x" * 70_000, "é" * 40_000])
"""Any code points, lone surrogates and control characters included, and a few oversized strings."""

numbers = st.one_of(
    st.integers(), st.integers(-(2**70), 2**70), st.just(MAX_INT + 1), st.just(-(10**4000)), st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, awkward_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=4),
    max_leaves=20,
)
type_values = st.one_of(st.sampled_from(sorted(TYPES)), awkward_text, json_values)
fields = st.sampled_from(["id", "sdp", "feeds", "restart", "feed", "subject", "text", "title", "enabled",
                          "scenario", "command", "revision", "extra"])
message_like = st.fixed_dictionaries(
    {"type": type_values}, optional={"id": json_values}
).flatmap(lambda base: st.dictionaries(fields, json_values, max_size=4).map(lambda more: {**more, **base}))
"""Objects that look like messages: a real or bogus type, an id of any kind, fields of any type."""


def serialised(value: Any) -> st.SearchStrategy[str | bytes]:
    """A JSON value as the browser or a hostile client might frame it (NaN, ensure_ascii or not, bytes)."""
    text = json.dumps(value, allow_nan=True)
    raw = json.dumps(value, allow_nan=True, ensure_ascii=False)
    options: list[str | bytes] = [text, raw, text.encode()]
    try:
        options.append(raw.encode())
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8; its surrogatepass bytes are not UTF-8 either
        options.append(raw.encode("utf-8", "surrogatepass"))
    return st.sampled_from(options)


def nested(depth: int, opener: str) -> str:
    closer = {"[": "]", "{\"a\":": "}"}[opener]
    return opener * depth + "1" + closer * depth


frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    json_values.flatmap(serialised),
    message_like.flatmap(serialised),
    st.builds(nested, st.integers(MAX_DEPTH - 2, 5000), st.sampled_from(["[", "{\"a\":"])),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "[1e400]", "\ufeff{}", '{"type":"ping"}x',
                     '{"type":"ping","type":"hand.raise"}', '{"type":"ping","id":true}', b"\xff\xfe{}", "x" * 70_000]),
)


def assert_refused_plainly(exc: BadMessage, request_id: object = None) -> None:
    assert exc.code in CODES
    assert isinstance(exc.message, str) and len(exc.message) < 400
    assert exc.request_id is None or isinstance(exc.request_id, (str, int))


def parses_or_refuses(raw: str | bytes) -> BaseModel | BadMessage:
    try:
        message = parse_message(raw, LIMIT)
    except BadMessage as exc:
        assert_refused_plainly(exc)
        return exc
    assert isinstance(message, MODELS)
    return message


# --- the parser -----------------------------------------------------------------------------------


@BOUNDED
@given(raw=frames)
def test_any_frame_parses_to_a_model_or_raises_bad_message(raw: str | bytes) -> None:
    parses_or_refuses(raw)


@BOUNDED
@given(message=message_like)
def test_an_object_with_any_type_and_fields_parses_or_is_refused_with_a_code(message: dict[str, Any]) -> None:
    result = parses_or_refuses(json.dumps(message, allow_nan=True))
    if isinstance(result, BaseModel):
        assert message["type"] in TYPES and result.type == message["type"]  # type: ignore[attr-defined]
    elif not isinstance(message["type"], str) and message["type"] is not None:
        assert result.code in {"bad_message", "bad_json", "too_large"}


@BOUNDED
@given(raw=st.one_of(st.text(max_size=200), st.binary(max_size=200), json_values.flatmap(serialised)))
def test_the_json_reader_returns_a_document_or_raises_json_rejected(raw: str | bytes) -> None:
    try:
        document = loads(raw)
    except JsonRejected as exc:
        assert exc.describe("message").startswith((exc.where or "message") + " ")
        return
    assert loads(dumps(document)) == document  # what it accepts, it can write and read back


one_line = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]).filter(
    lambda c: not 0x7F <= ord(c) <= 0x9F), min_size=1, max_size=30).filter(lambda s: s.strip() == s and s.strip())
ascii_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
request_ids = st.none() | st.integers(-MAX_INT, MAX_INT) | one_line
valid_messages = st.one_of(
    st.builds(dict, type=st.sampled_from(["ping", "hand.raise", "stage.leave", "subscribe.restart"])),
    st.builds(dict, type=st.just("publish.stop"), feed=st.sampled_from(["camera", "mic", "screen"])),
    st.builds(dict, type=st.sampled_from(["stage.invite", "stage.remove", "hand.lower"]), subject=one_line),
    st.builds(dict, type=st.just("chat.send"), text=one_line),
    st.builds(dict, type=st.just("marker.add"), title=one_line),
    st.builds(dict, type=st.just("media.video"), enabled=st.booleans()),
    st.builds(dict, type=st.just("training.resync"), revision=st.integers(0, MAX_INT)),
    st.builds(dict, type=st.just("publish.offer"), sdp=st.text(ascii_printable, min_size=3, max_size=100),
              feeds=st.dictionaries(st.sampled_from("0123456789"), st.sampled_from(["camera", "mic", "screen"]),
                                    max_size=3), restart=st.booleans()),
).flatmap(lambda m: request_ids.map(lambda rid: {**m, "id": rid}))


@BOUNDED
@given(message=valid_messages, as_bytes=st.booleans())
def test_a_valid_message_parses_and_round_trips_through_the_wire(message: dict[str, Any], as_bytes: bool) -> None:
    raw = dumps(message)
    parsed = parse_message(raw.encode() if as_bytes else raw, LIMIT)

    assert parsed.model_dump() == {**parsed.model_dump(), **message}  # every field sent is the field read
    again = parse_message(dumps(parsed.model_dump(exclude_none=True)), LIMIT)
    assert again == parsed


# --- through a real server ------------------------------------------------------------------------

GARBAGE: list[str | bytes] = [
    "not json", b"\xff\xfe\x00", "[" * 5000, "NaN", '{"type":123}', '{"type":"nope","id":"g1"}',
    '{"type":"ping","extra":1}', '{"type":"chat.send","text":"\\ud800"}', '{"id":99999999999999999999999}',
    '{"type":"hand.raise","id":"\\u0000"}', "x" * 70_000,
]


def on_the_wire(frame: str | bytes) -> str | bytes:
    """What a client can put in a frame: text with a lone surrogate is not UTF-8, so no WebSocket
    text frame can carry it; it goes as a binary frame of its surrogatepass bytes instead."""
    if isinstance(frame, str):
        try:
            frame.encode("utf-8")
        except UnicodeEncodeError:
            return frame.encode("utf-8", "surrogatepass")
    return frame


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])
@given(frames=st.lists(frames, min_size=1, max_size=4))
@example(frames=["\ud800 a lone surrogate"])  # once made the client fail before the server saw anything
@pytest.mark.timeout(60)
async def test_a_running_server_answers_garbage_with_bad_message_and_keeps_the_socket_open(
        base: str, lesson_id: str, tokens: Tokens, frames: list[str | bytes]) -> None:
    sendable = [on_the_wire(frame) for frame in frames]
    garbage = [frame for frame in sendable if isinstance(parses_or_refuses(frame), BadMessage)] + GARBAGE
    async with LessonClient.connect(base, lesson_id, bearer(tokens.student())) as client:
        for frame in garbage:
            await client.send_raw(frame)
        errors = [await client.expect("error") for _ in garbage]
        assert {error["code"] for error in errors} <= CODES
        assert "bad_message" in {error["code"] for error in errors}
        assert (await client.request({"type": "ping"}))["type"] == "pong"
