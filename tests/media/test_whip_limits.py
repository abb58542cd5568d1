"""WHIP/WHEP sessions are bounded: per principal, per lesson, and in how long they may stay unconnected;
a malformed SDP offer is refused with a plain 400 before any router or socket exists for it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from aiortc import RTCPeerConnection
from starlette.applications import Starlette

from server.edge.app import create_app
from server.edge.settings import Settings
from server.live.sessions import LiveMedia
from tests.media.test_whip_whep import SDP, Peers, create_lesson, keeps_receiving, session_at
from tests.support.peers import SyntheticAudio, SyntheticVideo, publisher_offer
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(90)

TIMEOUT_S = 3
PYTHON_TEXT = re.compile(r"[A-Za-z]*(Error|Exception)\b|NoneType|has no attribute|Traceback|not in list|"
                         r"invalid literal|unpack|object is not")


class Served:
    def __init__(self, app: Starlette, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client
        self.tokens = Tokens(app.state.tokens)
        self.peers = Peers(client)

    @property
    def live(self) -> LiveMedia:
        media: LiveMedia = self.app.state.live_media
        return media


@asynccontextmanager
async def serving(data_dir: Path, **settings: Any) -> AsyncIterator[Served]:
    app = create_app(Settings(data_dir=data_dir, **settings))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        served = Served(app, client)
        try:
            yield served
        finally:
            await served.peers.close()


def udp_sockets() -> int:
    """The process's UDP sockets: ICE candidates hold them (files such as recordings do not count)."""
    return len(psutil.Process().net_connections(kind="udp"))


async def unanswering_offer(make: Callable[[RTCPeerConnection], Any]) -> str:
    """An offer from a peer that is gone before the server's connectivity checks reach it."""
    pc = RTCPeerConnection()
    try:
        return str(await make(pc))
    finally:
        await pc.close()


async def viewer_offer(pc: RTCPeerConnection) -> str:
    for kind in ("audio", "video"):
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


def assert_plain_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert not PYTHON_TEXT.search(error["message"]), error["message"]
    return str(error["message"])


# --- caps -----------------------------------------------------------------------------------------


async def test_a_principal_over_its_cap_gets_429_and_its_earlier_sessions_keep_playing(tmp_path: Path) -> None:
    async with serving(tmp_path, max_sessions_per_principal=2) as s:
        lesson = await create_lesson(s.client, s.tokens)
        _, published = await s.peers.publish(s.tokens.teacher(), lesson)
        first, one = await s.peers.watch(s.tokens.classroom("nujiang-1"), lesson)
        second, two = await s.peers.watch(s.tokens.classroom("nujiang-1"), lesson)
        assert [r.status_code for r in (published, one, two)] == [201, 201, 201]

        _, third = await s.peers.watch(s.tokens.classroom("nujiang-1"), lesson)

        assert_plain_error(third, 429, "rate_limited")
        assert third.headers["retry-after"] == "10"
        assert len(s.live.sessions) == 3
        await keeps_receiving(first)
        await keeps_receiving(second)
        _, other = await s.peers.watch(s.tokens.classroom("kunming-3"), lesson)  # another principal
        assert other.status_code == 201, other.text
        deleted = await s.client.delete(one.headers["location"], headers=s.tokens.classroom("nujiang-1"))
        assert deleted.status_code == 200
        _, again = await s.peers.watch(s.tokens.classroom("nujiang-1"), lesson)  # the slot was given back
        assert again.status_code == 201, again.text


async def test_a_teacher_republishing_replaces_her_session_instead_of_filling_her_cap(tmp_path: Path) -> None:
    async with serving(tmp_path, max_sessions_per_principal=1) as s:
        lesson = await create_lesson(s.client, s.tokens)
        responses = [(await s.peers.publish(s.tokens.teacher(), lesson))[1] for _ in range(3)]

        assert [r.status_code for r in responses] == [201, 201, 201], responses[-1].text
        assert [x.id for x in s.live.sessions.values()] == [session_at(s.app, responses[-1].headers["location"]).id]
        assert s.live.slots.held() == 1


async def test_a_full_lesson_answers_503_with_retry_after(tmp_path: Path) -> None:
    async with serving(tmp_path, max_sessions_per_lesson=2, ice_connect_timeout_s=7) as s:
        lesson = await create_lesson(s.client, s.tokens)
        statuses = [(await s.peers.watch(s.tokens.classroom(f"room-{i}"), lesson))[1] for i in range(3)]

        assert [r.status_code for r in statuses[:2]] == [201, 201]
        assert_plain_error(statuses[2], 503, "unavailable")
        assert statuses[2].headers["retry-after"] == "7"
        assert len(s.live.sessions) == 2


# --- sessions whose ICE never completes ----------------------------------------------------------


async def test_a_session_whose_ice_never_completes_is_closed_after_the_timeout_and_its_sockets_freed(
        tmp_path: Path) -> None:
    async with serving(tmp_path, ice_connect_timeout_s=TIMEOUT_S) as s:
        lesson = await create_lesson(s.client, s.tokens)
        teacher, published = await s.peers.publish(s.tokens.teacher(), lesson)
        assert published.status_code == 201, published.text
        await wait_for(lambda: teacher.connectionState == "connected", 10)
        offer = await unanswering_offer(viewer_offer)
        before = udp_sockets()

        response = await s.client.post(f"/whep/{lesson}", content=offer, headers={**s.tokens.classroom(), **SDP})

        assert response.status_code == 201, response.text
        stale = session_at(s.app, response.headers["location"])
        assert udp_sockets() > before  # the server holds sockets for it
        await wait_for(lambda: stale.transport.closed, 6 * TIMEOUT_S)
        await wait_for(lambda: udp_sockets() <= before, 10)
        await wait_for(lambda: stale.id not in s.live.sessions, 10)  # forgotten once its close has finished
        assert s.live.slots.held(lesson) == 1
        assert stale.transport.connection_state == "closed"
        live = session_at(s.app, published.headers["location"])
        assert not live.transport.closed and teacher.connectionState == "connected"


async def test_unconnected_sessions_do_not_hold_the_cap_for_ever(tmp_path: Path) -> None:
    async with serving(tmp_path, ice_connect_timeout_s=TIMEOUT_S, max_sessions_per_principal=2) as s:
        lesson = await create_lesson(s.client, s.tokens)
        headers = {**s.tokens.classroom(), **SDP}
        for _ in range(2):
            opened = await s.client.post(f"/whep/{lesson}", content=await unanswering_offer(viewer_offer),
                                         headers=headers)
            assert opened.status_code == 201, opened.text
        refused = await s.client.post(f"/whep/{lesson}", content=await unanswering_offer(viewer_offer),
                                      headers=headers)
        assert refused.status_code == 429

        await wait_for(lambda: not s.live.sessions, 6 * TIMEOUT_S)

        viewer, watched = await s.peers.watch(s.tokens.classroom(), lesson)
        assert watched.status_code == 201, watched.text
        await wait_for(lambda: viewer.pc.connectionState == "connected", 10)


# --- malformed offers --------------------------------------------------------------------------------


def without(prefix: str) -> Callable[[str], str]:
    return lambda sdp: "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))


def replaced(prefix: str, line: str) -> Callable[[str], str]:
    return lambda sdp: "".join(line + "\r\n" if old.startswith(prefix) else old
                               for old in sdp.splitlines(keepends=True))


MALFORMED = {
    "no-ice-ufrag": without("a=ice-ufrag"),
    "no-ice-pwd": without("a=ice-pwd"),
    "no-fingerprint": without("a=fingerprint"),
    "no-setup": without("a=setup"),
    "setup-holdconn": replaced("a=setup", "a=setup:holdconn"),
    "fingerprint-without-value": replaced("a=fingerprint", "a=fingerprint:sha-256"),
    "bad-m-line": replaced("m=video", "m=video nine UDP/TLS/RTP/SAVPF 96"),
    "payload-type-300": replaced("m=video", "m=video 9 UDP/TLS/RTP/SAVPF 300"),
    "no-media": lambda sdp: sdp.split("m=", 1)[0],
}


@pytest.fixture
async def real_offer() -> AsyncIterator[str]:
    pc = RTCPeerConnection()
    yield await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240, fps=15))
    await pc.close()


@pytest.mark.parametrize("mutate", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_a_malformed_offer_is_400_with_a_plain_message_and_creates_nothing(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, real_offer: str, kind: str,
        mutate: Callable[[str], str]) -> None:
    lesson = await create_lesson(client, tokens)
    offer = real_offer if kind == "whip" else await unanswering_offer(viewer_offer)

    response = await client.post(f"/{kind}/{lesson}", content=mutate(offer), headers={**tokens.teacher(), **SDP})

    assert_plain_error(response, 400, "bad_request")
    media: LiveMedia = app.state.live_media
    assert not media.sessions and media.slots.held() == 0
    assert media.engine.existing(lesson) is None  # no router was created for a refused offer


async def test_the_missing_credential_is_named_in_the_message(
        client: httpx.AsyncClient, tokens: Tokens, real_offer: str) -> None:
    lesson = await create_lesson(client, tokens)

    response = await client.post(f"/whip/{lesson}", content=without("a=ice-pwd")(real_offer),
                                 headers={**tokens.teacher(), **SDP})

    assert "ice-pwd" in assert_plain_error(response, 400, "bad_request")


async def test_a_valid_offer_still_plays_after_refused_ones(
        client: httpx.AsyncClient, tokens: Tokens, real_offer: str, peers: Peers) -> None:
    lesson = await create_lesson(client, tokens)
    await client.post(f"/whip/{lesson}", content=without("a=setup")(real_offer), headers={**tokens.teacher(), **SDP})
    _, published = await peers.publish(tokens.teacher(), lesson)
    viewer, watched = await peers.watch(tokens.classroom(), lesson)

    assert (published.status_code, watched.status_code) == (201, 201)
    await keeps_receiving(viewer, frames=5)


@pytest.fixture
async def peers(client: httpx.AsyncClient) -> AsyncIterator[Peers]:
    registry = Peers(client)
    yield registry
    await registry.close()

