"""The lesson channel at its edges: refused handshakes, malformed and forbidden messages,
rate limits, presence, takeovers, chat, and the media controls (video off, restarts).

Everything runs against the real app on uvicorn with real WebSockets and, where media is
involved, real aiortc peers. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
import types
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from aiortc import RTCPeerConnection
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed, InvalidStatus

from classroom.roles import Role
from media import Consumer, Router, Transport
from server.edge.secret import load_or_create_secret
from server.edge.settings import Settings
from server.edge.tokens import TokenCodec
from server.live.channel import endpoint
from tests.support.lesson_channel import LessonClient, answer_offers, bearer, publish
from tests.support.peers import Subscriber
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

AV = {"0": "camera", "1": "mic"}
TEACHER_FEEDS = ["teacher/camera", "teacher/mic"]


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
async def peers() -> AsyncIterator[list[Any]]:
    """aiortc peers (RTCPeerConnection or Subscriber) to close when the test ends."""
    opened: list[Any] = []
    yield opened
    for peer in opened:
        await peer.close()


def connect(base: str, lesson_id: str, headers: dict[str, str]) -> Any:
    return LessonClient.connect(base, lesson_id, bearer(headers))


async def refused(url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of a refused WebSocket handshake."""
    with pytest.raises(InvalidStatus) as info:
        async with asyncio.timeout(10), websockets.connect(url, **kwargs):
            pass
    response = info.value.response
    return response.status_code, json.loads(bytes(response.body or b"{}"))


async def close_code(client: LessonClient, timeout: float = 10.0) -> int | None:
    """Read (into ``client.seen``) until the server closes the socket; its close code."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                client.seen.append(json.loads(await client.ws.recv()))
        except ConnectionClosed:
            pass
    return client.ws.close_code


async def in_sync(client: LessonClient) -> None:
    """After this, every message the server queued for ``client`` before now is in ``client.seen``."""
    assert (await client.request({"type": "ping"}))["type"] == "pong"


async def stage_seen_by_newcomer(base: str, lesson_id: str, tokens: Tokens) -> dict[str, Any]:
    """The stage as the welcome of a fresh observer reports it."""
    async with connect(base, lesson_id, tokens.student("observer")) as observer:
        return dict((await observer.expect("welcome"))["stage"])


def router_of(app: Starlette, lesson_id: str) -> Router:
    return app.state.live_media.engine.routers[lesson_id]


def transports_of(router: Router, owner: str) -> list[Transport]:
    """Transports labelled ``kind:role:subject@school`` whose kind and subject ``owner`` (``kind:subject``) names."""
    kind, _, subject = owner.partition(":")
    return [t for t in router.transports
            if t.owner.partition(":")[0] == kind and t.owner.rpartition("@")[0].rpartition(":")[2] == subject]


def consumers_of(router: Router, subscriber: str, feed: str) -> list[Consumer]:
    """The consumers of ``feed`` on ``subscriber``'s server-side subscriber transport(s)."""
    mine = {c for t in transports_of(router, f"ws-sub:{subscriber}") for c in t.consumers.values()}
    return [c for c in router.feeds[feed].consumers if c in mine]


def packets(consumers: list[Consumer]) -> int:
    return sum(c.packets for c in consumers)


async def watching(client: LessonClient, peers: list[Any]) -> tuple[Subscriber, dict[str, str]]:
    """A viewer that answered the client's next subscribe.offer and decodes audio and video."""
    viewer = Subscriber(kinds=())
    peers.append(viewer)
    tracks = await answer_offers(client, viewer)
    await wait_for(lambda: viewer.frames["video"] > 5 and viewer.frames["audio"] > 5)
    return viewer, tracks


# --- the handshake ----------------------------------------------------------------------------


async def test_handshake_without_a_token_is_refused_with_401(base: str, lesson_id: str) -> None:
    status, body = await refused(f"{base}/ws/lessons/{lesson_id}")
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


async def test_handshake_with_an_invalid_token_is_refused_with_401(base: str, lesson_id: str) -> None:
    status, _ = await refused(f"{base}/ws/lessons/{lesson_id}?access_token=not.a.jwt")
    assert status == 401


async def test_handshake_with_an_expired_token_is_refused_with_401(
    base: str, lesson_id: str, settings: Settings
) -> None:
    two_hours_ago = TokenCodec(load_or_create_secret(settings.data_dir), clock=lambda: time.time() - 7200)
    token = two_hours_ago.issue("alice", Role.TEACHER, "east", ttl_s=60)
    status, body = await refused(f"{base}/ws/lessons/{lesson_id}?access_token={token}")
    assert status == 401
    assert "expired" in body["error"]["message"]


async def test_handshake_with_a_token_scoped_to_another_lesson_is_refused_with_403(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    token = bearer(tokens.classroom(lesson="some-other-lesson"))
    status, body = await refused(f"{base}/ws/lessons/{lesson_id}?access_token={token}")
    assert status == 403
    assert body["error"]["code"] == "forbidden"


async def test_handshake_for_an_unknown_lesson_is_refused_with_404(base: str, tokens: Tokens) -> None:
    status, body = await refused(f"{base}/ws/lessons/no-such-lesson?access_token={bearer(tokens.teacher())}")
    assert status == 404
    assert body["error"]["code"] == "not_found"


async def test_handshake_for_an_ended_lesson_is_refused_with_409(
    base: str, lesson_id: str, tokens: Tokens, client: httpx.AsyncClient
) -> None:
    ended = await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())
    assert ended.status_code == 200, ended.text
    status, body = await refused(f"{base}/ws/lessons/{lesson_id}?access_token={bearer(tokens.teacher())}")
    assert status == 409
    assert body["error"]["code"] == "conflict"


async def test_the_token_may_be_sent_in_the_authorization_header(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with asyncio.timeout(10), websockets.connect(
        f"{base}/ws/lessons/{lesson_id}", additional_headers=tokens.classroom("nujiang-1")
    ) as ws:
        welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome"
    assert welcome["you"] == {"subject": "nujiang-1", "role": "classroom", "school": "east"}


async def test_a_token_that_expires_while_connected_closes_the_socket_with_4401_on_the_next_message(
    base: str, lesson_id: str, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connect(base, lesson_id, tokens.classroom()) as nujiang:
        await nujiang.expect("welcome")
        later = time.time() + 10 * 3600  # the endpoint's clock jumps past the token's expiry
        monkeypatch.setattr(endpoint, "time", types.SimpleNamespace(time=lambda: later))
        await nujiang.send({"type": "ping"})
        assert await close_code(nujiang) == 4401
    assert not any(m["type"] == "pong" for m in nujiang.seen)


# --- malformed messages ----------------------------------------------------------------------

MALFORMED: list[tuple[str, str | bytes, str, object]] = [
    # (case, raw frame, error code, id echoed in the error)
    ("not-json", "{this is not json", "bad_json", None),
    ("binary-not-utf8", b"\xff\xfe\x00garbage", "bad_json", None),
    ("json-array", '[{"type": "ping"}]', "bad_message", None),
    ("json-string", '"ping"', "bad_message", None),
    ("unknown-type", '{"type": "teleport", "id": "t1"}', "unknown_type", "t1"),
    ("missing-type", '{"id": 7}', "unknown_type", 7),
    ("unknown-field", '{"type": "ping", "id": "t2", "extra": 1}', "invalid", "t2"),
    ("missing-field", '{"type": "stage.invite", "id": "t3"}', "invalid", "t3"),
    ("wrong-type-text", '{"type": "chat.send", "id": "t4", "text": 42}', "invalid", "t4"),
    ("wrong-type-bool", '{"type": "media.video", "id": "t5", "enabled": "maybe"}', "invalid", "t5"),
    ("string-for-bool", '{"type": "media.video", "id": "t6", "enabled": "yes"}', "invalid", "t6"),
    ("text-too-long", json.dumps({"type": "chat.send", "id": "t7", "text": "x" * 2001}), "invalid", "t7"),
    ("text-blank", '{"type": "chat.send", "id": "t8", "text": "   "}', "invalid", "t8"),
    ("id-too-long", json.dumps({"type": "ping", "id": "i" * 65}), "invalid", "i" * 65),
    ("type-is-a-list", '{"type": ["ping"], "id": "t10"}', "bad_message", "t10"),
    ("type-is-an-object", '{"type": {"ping": 1}}', "bad_message", None),
    ("very-deep-nesting", '{"type": "ping", "x": ' + "[" * 5000 + "]" * 5000 + "}", "bad_message", None),
    ("deep-nesting", '{"type": "training.command", "command": {"a": ' + "[" * 40 + "]" * 40 + "}}",
     "bad_message", None),
    ("5000-digit-id", '{"type": "ping", "id": ' + "1" * 5000 + "}", "bad_message", None),
    ("infinity", '{"type": "training.resync", "revision": Infinity}', "bad_json", None),
    ("float-overflow", '{"type": "training.command", "command": {"value": 1e999}}', "bad_message", None),
    ("lone-surrogate-in-chat", '{"type": "chat.send", "id": "t11", "text": "a\\ud800"}', "bad_message", "t11"),
    ("nul-in-chat", '{"type": "chat.send", "id": "t12", "text": "a\\u0000b"}', "bad_message", "t12"),
    ("escape-in-marker", '{"type": "marker.add", "title": "\\u001b[31mred"}', "bad_message", None),
    ("line-break-in-subject", '{"type": "hand.lower", "id": "t13", "subject": "a\\nb"}', "invalid", "t13"),
    ("line-break-in-id-not-echoed", '{"type": "ping", "id": "a\\nb"}', "invalid", None),
    ("oversized", json.dumps({"type": "ping", "id": "t9", "pad": "x" * 70_000}), "too_large", None),
    ("oversized-in-utf8-bytes", json.dumps({"type": "ping", "pad": "课" * 30_000}, ensure_ascii=False),
     "too_large", None),
]


@pytest.mark.parametrize(("raw", "code", "request_id"), [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
async def test_a_malformed_message_gets_the_documented_error_and_the_connection_keeps_working(
    base: str, lesson_id: str, tokens: Tokens, raw: str | bytes, code: str, request_id: object
) -> None:
    async with connect(base, lesson_id, tokens.classroom()) as nujiang:
        await nujiang.expect("welcome")
        await nujiang.send_raw(raw)
        error = await nujiang.expect("error")
        assert error["code"] == code, error
        assert error.get("id") == request_id
        assert error["message"] and error["message"].isprintable()
        await in_sync(nujiang)


async def test_an_invalid_field_is_named_in_the_error_message(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with connect(base, lesson_id, tokens.classroom()) as nujiang:
        reply = await nujiang.request({"type": "chat.send", "text": "x" * 2001})
        assert reply["code"] == "invalid"
        assert "text" in reply["message"]


async def test_malformed_messages_change_nothing(base: str, lesson_id: str, tokens: Tokens) -> None:
    stage_before = await stage_seen_by_newcomer(base, lesson_id, tokens)
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang,
    ):
        await teacher.expect("welcome")
        attempts = [
            '{"type": "hand.raise", "extra": true}',
            '{"type": "hand.raise", "id": [1]}',
            json.dumps({"type": "hand.raise", "pad": "x" * 70_000}),
            "hand.raise",
            '["hand.raise"]',
            '{"type": "hand.raised"}',
        ]
        for raw in attempts:
            await nujiang.send_raw(raw)
        for _ in attempts:
            await nujiang.expect("error")
        await in_sync(nujiang)
        await in_sync(teacher)
        assert [m for m in teacher.seen if m["type"] == "stage"] == []
    assert await stage_seen_by_newcomer(base, lesson_id, tokens) == stage_before


# --- who may send what ------------------------------------------------------------------------

STUDENT_FORBIDDEN: list[dict[str, Any]] = [
    {"type": "hand.raise"},
    {"type": "hand.lower"},
    {"type": "stage.invite", "subject": "nujiang-1"},
    {"type": "stage.remove", "subject": "nujiang-1"},
    {"type": "stage.leave"},
    {"type": "publish.offer", "sdp": "v=0", "feeds": {"0": "camera"}},
    {"type": "publish.stop", "feed": "camera"},
]


@pytest.mark.parametrize("message", STUDENT_FORBIDDEN, ids=[str(m["type"]) for m in STUDENT_FORBIDDEN])
async def test_a_student_may_not_touch_the_stage_or_publish(
    base: str, lesson_id: str, tokens: Tokens, message: dict[str, Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.classroom("nujiang-1")),
        connect(base, lesson_id, tokens.student("li")) as li,
    ):
        reply = await li.request(message)
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    assert await stage_seen_by_newcomer(base, lesson_id, tokens) == {"capacity": 2, "hands": [], "on_stage": []}


async def test_a_classroom_may_not_invite_to_the_stage(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with (
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang,
        connect(base, lesson_id, tokens.classroom("kunming-2")),
    ):
        reply = await nujiang.request({"type": "stage.invite", "subject": "kunming-2"})
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
        assert (await stage_seen_by_newcomer(base, lesson_id, tokens))["on_stage"] == []


async def test_a_classroom_may_not_remove_another_classroom_from_the_stage(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("nujiang-1")),
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        assert (await teacher.request({"type": "stage.invite", "subject": "nujiang-1"}))["type"] == "ack"
        reply = await kunming.request({"type": "stage.remove", "subject": "nujiang-1"})
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
        assert (await stage_seen_by_newcomer(base, lesson_id, tokens))["on_stage"] == ["nujiang-1"]


@pytest.mark.parametrize("subject", ["ghost-9", "li"], ids=["never-connected", "a-student"])
async def test_inviting_someone_who_is_not_a_connected_classroom_is_a_bad_request(
    base: str, lesson_id: str, tokens: Tokens, subject: str
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.student("li")),
    ):
        reply = await teacher.request({"type": "stage.invite", "subject": subject})
        assert reply["type"] == "error" and reply["code"] == "bad_request", reply
        assert subject in reply["message"]
        assert (await stage_seen_by_newcomer(base, lesson_id, tokens))["on_stage"] == []


# --- rate limits ------------------------------------------------------------------------------


async def test_a_burst_of_pings_beyond_the_limit_is_rate_limited_without_closing_the_connection(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as flooder,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as bystander,
    ):
        ids = [await flooder.send({"type": "ping"}) for _ in range(60)]
        replies: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(10):
            while len(replies) < len(ids):
                message = json.loads(await flooder.ws.recv())
                if message.get("id") in ids:
                    replies[message["id"]] = message
        kinds = [(m["type"], m.get("code")) for m in replies.values()]
        assert ("error", "rate_limited") in kinds
        assert ("pong", None) in kinds
        assert set(kinds) == {("error", "rate_limited"), ("pong", None)}

        assert (await bystander.request({"type": "ping"}))["type"] == "pong"  # others are not affected

        answered = False
        for _ in range(50):  # the bucket refills at 20/s: the flooder is served again shortly
            if (await flooder.request({"type": "ping"}))["type"] == "pong":
                answered = True
                break
            await asyncio.sleep(0.05)
        assert answered


async def test_chat_with_control_characters_is_refused_and_never_broadcast(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang,
        connect(base, lesson_id, tokens.teacher()) as teacher,
    ):
        await teacher.expect("welcome")
        for text in ("\x1b[31mred", "a\x00b", "bell\x07", "c1\x9b2J"):
            reply = await nujiang.request({"type": "chat.send", "text": text})
            assert (reply["type"], reply["code"]) == ("error", "bad_message"), reply
            assert "control characters" in reply["message"]
        assert (await nujiang.request({"type": "chat.send", "text": "line one\nline two\tend"}))["type"] == "ack"
        chat = await teacher.expect("chat")
        assert chat["text"] == "line one\nline two\tend"
        await in_sync(teacher)
        assert not any(m["type"] == "chat" for m in teacher.seen)


async def test_more_than_five_quick_chat_messages_are_rate_limited_and_not_delivered(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as chatty,
        connect(base, lesson_id, tokens.teacher()) as teacher,
    ):
        await teacher.expect("welcome")
        ids = {await chatty.send({"type": "chat.send", "text": f"msg {n}"}): f"msg {n}" for n in range(8)}
        replies: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(10):
            while len(replies) < len(ids):
                message = json.loads(await chatty.ws.recv())
                if message.get("id") in ids:
                    replies[message["id"]] = message
        accepted = [ids[i] for i, m in replies.items() if m["type"] == "ack"]
        limited = [m for m in replies.values() if m["type"] == "error"]
        assert len(accepted) >= 5
        assert limited and all(m["code"] == "rate_limited" for m in limited)

        await in_sync(teacher)  # the teacher is not affected, and has every chat that was accepted
        delivered = [m["text"] for m in teacher.seen if m["type"] == "chat"]
        assert sorted(delivered) == sorted(accepted)
        assert (await teacher.request({"type": "chat.send", "text": "calm down"}))["type"] == "ack"


# --- presence and the stage when people leave -----------------------------------------------


async def test_participants_are_told_when_someone_joins_and_when_they_leave(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with connect(base, lesson_id, tokens.teacher()) as teacher:
        welcome = await teacher.expect("welcome")
        assert [p["subject"] for p in welcome["participants"]] == ["alice"]
        async with connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang:
            joined = await teacher.expect("presence", event="joined")
            assert joined["participant"] == {"subject": "nujiang-1", "role": "classroom", "school": "east"}
            welcome = await nujiang.expect("welcome")
            assert sorted(p["subject"] for p in welcome["participants"]) == ["alice", "nujiang-1"]
            await in_sync(nujiang)
            assert not any(m["type"] == "presence" for m in nujiang.seen)  # nobody is told of themselves
        left = await teacher.expect("presence", event="left")
        assert left["participant"]["subject"] == "nujiang-1"


async def test_a_classroom_on_stage_that_disconnects_leaves_the_stage(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        async with connect(base, lesson_id, tokens.classroom("nujiang-1")):
            assert (await teacher.request({"type": "stage.invite", "subject": "nujiang-1"}))["type"] == "ack"
            await kunming.expect("stage", on_stage=["nujiang-1"])
        await teacher.expect("stage", on_stage=[])
        await kunming.expect("stage", on_stage=[])


async def test_a_classroom_that_disconnects_with_its_hand_raised_has_its_hand_lowered(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with connect(base, lesson_id, tokens.teacher()) as teacher:
        async with connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang:
            assert (await nujiang.request({"type": "hand.raise"}))["type"] == "ack"
            await teacher.expect("stage", hands=["nujiang-1"])
        await teacher.expect("stage", hands=[])


async def test_a_second_connection_of_the_same_subject_replaces_the_first(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as older,
    ):
        await teacher.expect("presence", event="joined")
        await older.expect("welcome")
        async with connect(base, lesson_id, tokens.classroom("nujiang-1")) as newer:
            error = await older.expect("error")
            assert error["code"] == "replaced"
            assert await close_code(older) == 4409
            welcome = await newer.expect("welcome")
            assert sorted(p["subject"] for p in welcome["participants"]) == ["alice", "nujiang-1"]
            assert (await newer.request({"type": "hand.raise"}))["type"] == "ack"
            await teacher.expect("stage", hands=["nujiang-1"])
            assert not any(m["type"] == "presence" for m in teacher.seen)  # the subject never left


# --- chat ---------------------------------------------------------------------------------------


async def test_chat_reaches_everyone_with_its_sender(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang,
        connect(base, lesson_id, tokens.student("li")) as li,
    ):
        assert (await li.request({"type": "chat.send", "text": "  may I ask a question?  "}))["type"] == "ack"
        for member in (teacher, nujiang, li):
            chat = await member.expect("chat")
            assert chat["from"] == {"subject": "li", "role": "student", "school": "east"}
            assert chat["text"] == "may I ask a question?"
            assert isinstance(chat["at"], (int, float))


async def test_an_admin_may_not_chat(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.admin("root")) as root,
    ):
        reply = await root.request({"type": "chat.send", "text": "hello"})
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
        await in_sync(teacher)
        assert not any(m["type"] == "chat" for m in teacher.seen)


# --- media controls -----------------------------------------------------------------------------


async def test_turning_video_off_pauses_only_video_and_turning_it_on_resumes_it(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        peers.append(await publish(teacher, AV))
        viewer, _ = await watching(kunming, peers)
        router = router_of(app, lesson_id)
        video = consumers_of(router, "kunming-2", "teacher/camera")
        audio = consumers_of(router, "kunming-2", "teacher/mic")
        assert len(video) == 1 and len(audio) == 1

        assert (await kunming.request({"type": "media.video", "enabled": False}))["type"] == "ack"
        assert all(c.paused for c in video) and not any(c.paused for c in audio)
        audio_sent = packets(audio)
        # a media worker reports its counters every 250 ms: let what was sent before the pause land first
        await wait_for(lambda: packets(audio) > audio_sent + 25)
        video_sent, audio_sent = packets(video), packets(audio)
        await wait_for(lambda: packets(audio) > audio_sent + 25)  # ~0.5 s of audio as the observation window
        assert packets(video) == video_sent
        audio_frames = viewer.frames["audio"]
        await wait_for(lambda: viewer.frames["audio"] > audio_frames + 25)  # frames in flight have landed
        video_frames, audio_frames = viewer.frames["video"], viewer.frames["audio"]
        await wait_for(lambda: viewer.frames["audio"] > audio_frames + 25)
        assert viewer.frames["video"] == video_frames

        assert (await kunming.request({"type": "media.video", "enabled": True}))["type"] == "ack"
        assert not any(c.paused for c in video)
        await wait_for(lambda: packets(video) > video_sent)
        await wait_for(lambda: viewer.frames["video"] > video_frames + 5)


async def test_subscribe_restart_offers_a_fresh_connection_and_closes_the_old_one(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        peers.append(await publish(teacher, AV))
        await watching(kunming, peers)
        router = router_of(app, lesson_id)
        [old] = transports_of(router, "ws-sub:kunming-2")

        assert (await kunming.request({"type": "subscribe.restart"}))["type"] == "ack"
        fresh = Subscriber(kinds=())
        peers.append(fresh)
        tracks = await answer_offers(kunming, fresh)
        assert sorted(tracks.values()) == TEACHER_FEEDS
        await wait_for(lambda: fresh.frames["video"] > 5 and fresh.frames["audio"] > 5)

        assert old.closed
        assert transports_of(router, "ws-sub:kunming-2") != [old]
        assert len(transports_of(router, "ws-sub:kunming-2")) == 1


async def test_a_publisher_restart_replaces_the_connection_and_viewers_keep_their_tracks(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        first = await publish(teacher, AV)
        peers.append(first)
        viewer, tracks = await watching(kunming, peers)
        [video_mid] = [mid for mid, feed in tracks.items() if feed == "teacher/camera"]
        router = router_of(app, lesson_id)
        [old] = transports_of(router, "ws-pub:alice")

        peers.append(await publish(teacher, AV, restart=True))
        await first.close()  # from here on, frames can only come from the new connection
        assert old.closed and old not in router.transports
        [new] = transports_of(router, "ws-pub:alice")
        assert router.feeds["teacher/camera"].producer in new.producers.values()

        received = viewer.frames_by_mid[video_mid]
        await wait_for(lambda: viewer.frames_by_mid[video_mid] > received + 10)
        await in_sync(kunming)
        assert not any(m["type"] == "subscribe.offer" for m in kunming.seen)
        for message in (m for m in kunming.seen if m["type"] == "tracks"):  # no blip: the feed never went away
            assert message["tracks"] == tracks, message


async def test_an_answer_without_a_pending_offer_is_invalid_sdp(base: str, lesson_id: str, tokens: Tokens) -> None:
    peer = RTCPeerConnection()
    try:
        peer.addTransceiver("video", direction="recvonly")
        await peer.setLocalDescription(await peer.createOffer())
        async with connect(base, lesson_id, tokens.classroom()) as nujiang:
            reply = await nujiang.request({"type": "subscribe.answer", "sdp": peer.localDescription.sdp})
            assert reply["type"] == "error" and reply["code"] == "invalid_sdp", reply
            await in_sync(nujiang)
    finally:
        await peer.close()


async def test_answering_the_same_offer_twice_is_invalid_sdp_and_media_keeps_flowing(
    base: str, lesson_id: str, tokens: Tokens, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        peers.append(await publish(teacher, AV))
        viewer, _ = await watching(kunming, peers)
        reply = await kunming.request({"type": "subscribe.answer", "sdp": viewer.pc.localDescription.sdp})
        assert reply["type"] == "error" and reply["code"] == "invalid_sdp", reply
        received = viewer.frames["video"]
        await wait_for(lambda: viewer.frames["video"] > received + 5)


async def test_a_garbage_publish_offer_is_invalid_sdp_and_changes_nothing(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, client: httpx.AsyncClient, peers: list[Any]
) -> None:
    async with connect(base, lesson_id, tokens.teacher()) as teacher:
        await teacher.expect("welcome")
        garbage = "v=0\r\nthis is not a session description\r\n"
        reply = await teacher.request({"type": "publish.offer", "sdp": garbage, "feeds": AV})
        assert reply["type"] == "error" and reply["code"] == "invalid_sdp", reply
        router = router_of(app, lesson_id)
        assert router.live_feeds() == {}
        assert transports_of(router, "ws-pub:alice") == []
        lesson = await client.get(f"/api/lessons/{lesson_id}", headers=tokens.teacher())
        assert lesson.json()["state"] == "scheduled"

        peers.append(await publish(teacher, AV))  # a good offer afterwards works
        await wait_for(lambda: sorted(router.live_feeds()) == TEACHER_FEEDS)


async def test_a_garbage_restart_offer_is_invalid_sdp_and_the_running_broadcast_continues(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        peers.append(await publish(teacher, AV))
        viewer, tracks = await watching(kunming, peers)
        router = router_of(app, lesson_id)
        [publisher] = transports_of(router, "ws-pub:alice")

        reply = await teacher.request({"type": "publish.offer", "sdp": "v=0\r\ngarbage\r\n", "feeds": AV,
                                       "restart": True})
        assert reply["type"] == "error" and reply["code"] == "invalid_sdp", reply
        assert transports_of(router, "ws-pub:alice") == [publisher] and not publisher.closed
        assert sorted(router.live_feeds()) == TEACHER_FEEDS
        received = viewer.frames["video"]
        await wait_for(lambda: viewer.frames["video"] > received + 10)
        await in_sync(kunming)
        assert not any(m["type"] == "subscribe.offer" for m in kunming.seen)
        assert all(m["tracks"] == tracks for m in kunming.seen if m["type"] == "tracks")


# --- the end ------------------------------------------------------------------------------------


async def test_ending_the_lesson_tells_everyone_closes_their_sockets_with_4409_and_drops_the_router(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, client: httpx.AsyncClient, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        peers.append(await publish(teacher, AV))
        await watching(kunming, peers)
        router = router_of(app, lesson_id)

        ended = await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())
        assert ended.status_code == 200, ended.text
        for member in (teacher, kunming):
            assert await close_code(member) == 4409
            assert [m for m in member.seen if m["type"] == "lesson.ended"], member.seen
    assert lesson_id not in app.state.live_media.engine.routers
    assert router.closed and not router.transports


async def test_when_everyone_has_left_no_transports_remain_in_the_lesson(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any]
) -> None:
    async with (
        connect(base, lesson_id, tokens.teacher()) as teacher,
        connect(base, lesson_id, tokens.classroom("nujiang-1")) as nujiang,
        connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming,
    ):
        peers.append(await publish(teacher, AV))
        await watching(kunming, peers)
        assert (await teacher.request({"type": "stage.invite", "subject": "nujiang-1"}))["type"] == "ack"
        await nujiang.expect("stage.invited")
        peers.append(await publish(nujiang, AV))
        router = router_of(app, lesson_id)
        assert len(router.transports) >= 3
    await wait_for(lambda: not router.transports)
    assert router.live_feeds() == {}
    # only the lesson's recorder still follows the feeds: it records until the lesson ends
    assert not [c for feed in router.feeds.values() for c in feed.consumers if isinstance(c, Consumer)]


async def test_teacher_lowers_a_classrooms_hand_and_a_classroom_cannot_lower_anothers(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("a"))) as a,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("b"))) as b,
    ):
        assert (await a.request({"type": "hand.raise"}))["type"] == "ack"
        refused = await b.request({"type": "hand.lower", "subject": "a"})
        assert refused["type"] == "error" and refused["code"] == "forbidden"
        assert (await teacher.request({"type": "hand.lower", "subject": "a"}))["type"] == "ack"
        await b.expect("stage", hands=[])
