"""The lesson channel's SDP: malformed offers and answers get a plain `invalid_sdp`, and a peer
connection that never connects is closed after the connect timeout."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiortc import RTCPeerConnection
from starlette.applications import Starlette

from media import Router
from server.edge.settings import Settings
from tests.support.lesson_channel import LessonClient, bearer, publish
from tests.support.peers import Subscriber, SyntheticAudio, SyntheticVideo, publisher_offer
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(90)

TIMEOUT_S = 3
AV = {"0": "camera", "1": "mic"}
PYTHON_TEXT = re.compile(r"[A-Za-z]*(Error|Exception)\b|NoneType|has no attribute|Traceback|unpack")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", ice_connect_timeout_s=TIMEOUT_S)


@pytest.fixture
async def peers() -> AsyncIterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for peer in opened:
        await peer.close()


def udp_sockets() -> int:
    """The process's UDP sockets: ICE candidates hold them (files such as recordings do not count)."""
    return len(psutil.Process().net_connections(kind="udp"))


def connect(base: str, lesson_id: str, headers: dict[str, str]) -> Any:
    return LessonClient.connect(base, lesson_id, bearer(headers))


def router_of(app: Starlette, lesson_id: str) -> Router:
    return app.state.live_media.engine.routers[lesson_id]


def without(prefix: str, sdp: str) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))


def assert_plain_invalid_sdp(reply: dict[str, Any]) -> None:
    assert reply["type"] == "error" and reply["code"] == "invalid_sdp", reply
    assert not PYTHON_TEXT.search(reply["message"]), reply["message"]


async def test_an_answer_without_a_setup_role_is_a_plain_invalid_sdp_and_the_right_answer_still_works(
        base: str, lesson_id: str, tokens: Tokens, peers: list[Any]) -> None:
    async with connect(base, lesson_id, tokens.teacher()) as teacher, \
            connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming:
        peers.append(await publish(teacher, AV))
        viewer = Subscriber(kinds=())
        peers.append(viewer)
        offer = await kunming.expect("subscribe.offer")
        answer = await viewer.answer(offer["sdp"])

        refused = await kunming.request({"type": "subscribe.answer", "sdp": without("a=setup", answer)})
        accepted = await kunming.request({"type": "subscribe.answer", "sdp": answer})

        assert_plain_invalid_sdp(refused)
        assert "a=setup" in refused["message"]
        assert accepted["type"] == "ack", accepted
        await wait_for(lambda: viewer.frames["video"] > 5)


@pytest.mark.parametrize("attribute", ["a=ice-ufrag", "a=ice-pwd", "a=fingerprint"])
async def test_a_publish_offer_without_ice_or_dtls_credentials_is_refused_and_opens_nothing(
        base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any], attribute: str) -> None:
    pc = RTCPeerConnection()
    peers.append(pc)
    sdp = await publisher_offer(pc, SyntheticVideo(), SyntheticAudio())
    async with connect(base, lesson_id, tokens.teacher()) as teacher:
        await teacher.expect("welcome")

        reply = await teacher.request({"type": "publish.offer", "sdp": without(attribute, sdp), "feeds": AV})

        assert_plain_invalid_sdp(reply)
        assert not [t for t in router_of(app, lesson_id).transports if t.owner.startswith("ws-pub")]


def owned_by(transport: Any, kind: str, subject: str) -> bool:
    """Whether a transport labelled ``kind:role:subject@school`` is of this kind and subject."""
    label, _, principal = transport.owner.partition(":")
    return label == kind and principal.rpartition("@")[0].rpartition(":")[2] == subject


async def test_a_subscribe_offer_left_unanswered_is_closed_after_the_timeout_and_its_sockets_freed(
        base: str, lesson_id: str, tokens: Tokens, app: Starlette, peers: list[Any]) -> None:
    async with connect(base, lesson_id, tokens.teacher()) as teacher:
        peers.append(await publish(teacher, AV))
        router = router_of(app, lesson_id)
        await wait_for(lambda: len(router.live_feeds()) == 2)
        before = udp_sockets()
        async with connect(base, lesson_id, tokens.classroom("kunming-2")) as kunming:
            await kunming.expect("subscribe.offer")  # and never answered
            [pending] = [t for t in router.transports if owned_by(t, "ws-sub", "kunming-2")]
            assert udp_sockets() > before

            await wait_for(lambda: pending.closed, 6 * TIMEOUT_S)
            await wait_for(lambda: udp_sockets() <= before, 10)  # while the classroom is still connected

            assert pending not in router.transports
            assert pending.connection_state == "closed"
            [publisher] = [t for t in router.transports if owned_by(t, "ws-pub", "alice")]
            assert not publisher.closed  # connected in time: not touched
