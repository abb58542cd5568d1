"""WHIP ingest and WHEP playback through the real app, with real aiortc peers over loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from starlette.applications import Starlette

from classroom.roles import Role
from server.edge.app import create_app
from server.edge.settings import Settings
from server.edge.tokens import TokenCodec
from server.live.sessions import LiveMedia, MediaSession
from tests.support.peers import Subscriber, SyntheticAudio, SyntheticVideo, publisher_offer
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fanout_impl")]

SDP = {"Content-Type": "application/sdp"}
CAMERA = "teacher/camera"


class Peers:
    """The test's client-side peers; all closed at teardown."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.publishers: list[RTCPeerConnection] = []
        self.subscribers: list[Subscriber] = []

    async def publish(self, headers: dict[str, str], lesson_id: str) -> tuple[RTCPeerConnection, httpx.Response]:
        pc = RTCPeerConnection()
        self.publishers.append(pc)
        offer = await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240, fps=15))
        response = await self.client.post(f"/whip/{lesson_id}", content=offer, headers={**headers, **SDP})
        if response.status_code == 201:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
        return pc, response

    async def watch(self, headers: dict[str, str], lesson_id: str) -> tuple[Subscriber, httpx.Response]:
        subscriber = Subscriber()
        self.subscribers.append(subscriber)
        response = await self.client.post(f"/whep/{lesson_id}", content=await subscriber.offer(),
                                          headers={**headers, **SDP})
        if response.status_code == 201:
            await subscriber.accept(response.text)
        return subscriber, response

    async def close(self) -> None:
        for subscriber in self.subscribers:
            await subscriber.close()
        for pc in self.publishers:
            await pc.close()


@pytest.fixture
async def peers(client: httpx.AsyncClient) -> AsyncIterator[Peers]:
    registry = Peers(client)
    yield registry
    await registry.close()


async def create_lesson(client: httpx.AsyncClient, tokens: Tokens, teacher: str = "alice") -> str:
    response = await client.post("/api/lessons", json={"title": "Mould design"}, headers=tokens.teacher(teacher))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def lesson_state(client: httpx.AsyncClient, tokens: Tokens, lesson_id: str) -> str:
    response = await client.get(f"/api/lessons/{lesson_id}", headers=tokens.teacher())
    return str(response.json()["state"])


def live_media(app: Starlette) -> LiveMedia:
    media: LiveMedia = app.state.live_media
    return media


def session_at(app: Starlette, location: str) -> MediaSession:
    return live_media(app).sessions[location.rsplit("/", 1)[1]]


def video_receiver(subscriber: Subscriber) -> RTCRtpReceiver:
    return next(t.receiver for t in subscriber.pc.getTransceivers() if t.kind == "video")


async def inbound_video(subscriber: Subscriber) -> Any:
    report = await video_receiver(subscriber).getStats()
    return next(s for s in report.values() if s.type == "inbound-rtp")


async def keeps_receiving(subscriber: Subscriber, frames: int = 15, timeout: float = 15) -> None:
    target = subscriber.frames["video"] + frames
    await wait_for(lambda: subscriber.frames["video"] >= target, timeout)


# --- the happy paths ------------------------------------------------------------------------


async def test_teacher_publishes_and_two_classrooms_decode_audio_and_video(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, published = await peers.publish(tokens.teacher(), lesson_id)
    first, watched_1 = await peers.watch(tokens.classroom("nujiang-1", lesson=lesson_id), lesson_id)
    second, watched_2 = await peers.watch(tokens.classroom("kunming-3"), lesson_id)

    for response, kind in ((published, "whip"), (watched_1, "whep"), (watched_2, "whep")):
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/sdp"
        assert response.headers["location"].startswith(f"/{kind}/{lesson_id}/")
        assert response.text.startswith("v=0")
    await wait_for(lambda: all(s.frames["video"] >= 10 and s.frames["audio"] >= 25 for s in (first, second)), 20)
    assert first.last_video_size == (320, 240)
    assert await lesson_state(client, tokens, lesson_id) == "live"
    assert {s.kind for s in live_media(app).sessions.values()} == {"whip", "whep"}


async def test_viewer_who_joins_before_the_teacher_gets_media_once_she_goes_live(
        client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    early, watched = await peers.watch(tokens.classroom(), lesson_id)
    assert watched.status_code == 201, watched.text
    assert await lesson_state(client, tokens, lesson_id) == "scheduled"

    _, published = await peers.publish(tokens.teacher(), lesson_id)

    assert published.status_code == 201, published.text
    await wait_for(lambda: early.frames["video"] >= 5 and early.frames["audio"] >= 10, 20)


async def test_late_joiner_gets_a_first_frame_through_an_upstream_keyframe_request(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, published = await peers.publish(tokens.teacher(), lesson_id)
    assert published.status_code == 201
    router = live_media(app).engine.routers[lesson_id]
    await wait_for(lambda: CAMERA in router.feeds and router.feeds[CAMERA].live, 10)
    feed = router.feeds[CAMERA]
    producer = feed.producer
    assert producer is not None
    await wait_for(lambda: producer.packets > 0, 10)
    live_since = time.monotonic()
    await wait_for(lambda: time.monotonic() - live_since > 1.5, 5)  # the teacher has been live a while
    requests_before = feed.keyframe_requests_sent

    late, watched = await peers.watch(tokens.classroom(), lesson_id)

    assert watched.status_code == 201
    await wait_for(lambda: late.frames["video"] >= 1, 10)
    assert "video" in late.first_frame_at
    assert feed.keyframe_requests_sent > requests_before


# --- teacher reconnects ---------------------------------------------------------------------


async def test_teacher_reconnect_replaces_her_session_and_viewers_keep_one_continuous_stream(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, first_publish = await peers.publish(tokens.teacher(), lesson_id)
    viewers = [(await peers.watch(tokens.classroom(name), lesson_id))[0] for name in ("nujiang-1", "kunming-3")]
    await wait_for(lambda: all(v.frames["video"] >= 10 for v in viewers), 20)
    before = [await inbound_video(v) for v in viewers]
    old = session_at(app, first_publish.headers["location"])

    old_pc, second_publish = await peers.publish(tokens.teacher(), lesson_id)  # the old pc stays open

    assert second_publish.status_code == 201, second_publish.text
    new = session_at(app, second_publish.headers["location"])
    assert old.id not in live_media(app).sessions
    assert old.transport.closed
    assert old.transport.pc.connectionState == "closed"
    feed = live_media(app).engine.routers[lesson_id].feeds[CAMERA]
    assert feed.producer is next(p for p in new.transport.producers.values() if p.kind == "video")
    await wait_for(lambda: feed.producer is not None and feed.producer.packets > 0, 10)
    for viewer in viewers:
        await keeps_receiving(viewer, frames=20)
    after = [await inbound_video(v) for v in viewers]
    for stats_before, stats_after, viewer in zip(before, after, viewers, strict=True):
        assert stats_after.ssrc == stats_before.ssrc
        assert stats_after.packetsReceived > stats_before.packetsReceived
        assert abs(stats_after.packetsLost - stats_before.packetsLost) < 20  # no jump in sequence numbers
        remote_streams = video_receiver(viewer)._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        assert list(remote_streams) == [stats_before.ssrc]
    assert old_pc.connectionState != "closed"  # the server did not need the old page to hang up


# --- ending sessions ------------------------------------------------------------------------


async def test_deleting_the_whip_session_closes_it_and_a_second_delete_is_not_found(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, published = await peers.publish(tokens.teacher(), lesson_id)
    location = published.headers["location"]
    session = session_at(app, location)

    deleted = await client.delete(location, headers=tokens.teacher())

    assert deleted.status_code == 200
    assert session.id not in live_media(app).sessions
    assert session.transport.closed
    assert session.transport.pc.connectionState == "closed"
    assert session.transport not in live_media(app).engine.routers[lesson_id].transports
    again = await client.delete(location, headers=tokens.teacher())
    assert again.status_code == 404


async def test_only_the_session_owner_may_delete_it(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, published = await peers.publish(tokens.teacher(), lesson_id)
    _, watched = await peers.watch(tokens.classroom("nujiang-1"), lesson_id)
    whip_session = session_at(app, published.headers["location"])
    whep_session = session_at(app, watched.headers["location"])

    by_other_teacher = await client.delete(published.headers["location"], headers=tokens.teacher("bob"))
    by_other_classroom = await client.delete(watched.headers["location"], headers=tokens.classroom("kunming-3"))

    assert by_other_teacher.status_code == 403
    assert by_other_classroom.status_code == 403
    assert {whip_session.id, whep_session.id} <= set(live_media(app).sessions)
    assert not whip_session.transport.closed and not whep_session.transport.closed


async def test_viewer_leaving_with_delete_does_not_disturb_the_other_viewer(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    await peers.publish(tokens.teacher(), lesson_id)
    leaving, leaving_response = await peers.watch(tokens.classroom("nujiang-1"), lesson_id)
    staying, _ = await peers.watch(tokens.classroom("kunming-3"), lesson_id)
    await wait_for(lambda: leaving.frames["video"] >= 5 and staying.frames["video"] >= 5, 20)
    router = live_media(app).engine.routers[lesson_id]
    transports_before = len(router.transports)
    leaving_session = session_at(app, leaving_response.headers["location"])

    deleted = await client.delete(leaving_response.headers["location"], headers=tokens.classroom("nujiang-1"))
    await leaving.close()

    assert deleted.status_code == 200
    assert len(router.transports) == transports_before - 1
    assert all(c.closed for c in leaving_session.transport.consumers.values())
    assert not any(c in router.feeds[CAMERA].consumers for c in leaving_session.transport.consumers.values())
    await keeps_receiving(staying, frames=20)


async def test_viewer_whose_peer_connection_disappears_is_eventually_dropped(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    await peers.publish(tokens.teacher(), lesson_id)
    leaving, leaving_response = await peers.watch(tokens.classroom("nujiang-1"), lesson_id)
    staying, _ = await peers.watch(tokens.classroom("kunming-3"), lesson_id)
    await wait_for(lambda: leaving.frames["video"] >= 5 and staying.frames["video"] >= 5, 20)
    leaving_session = session_at(app, leaving_response.headers["location"])

    await leaving.close()  # no DELETE: the page just went away

    await keeps_receiving(staying, frames=20)
    await wait_for(lambda: leaving_session.transport.closed, 40)
    assert leaving_session.id not in live_media(app).sessions
    await keeps_receiving(staying, frames=10)


# --- bad requests ---------------------------------------------------------------------------


class Snapshot:
    def __init__(self, app: Starlette, client: httpx.AsyncClient, tokens: Tokens, lesson_id: str) -> None:
        self.app, self.client, self.tokens, self.lesson_id = app, client, tokens, lesson_id

    async def take(self) -> tuple[frozenset[str], str, int]:
        router = live_media(self.app).engine.existing(self.lesson_id)
        open_transports = sum(1 for t in router.transports if not t.closed) if router else 0
        state = await lesson_state(self.client, self.tokens, self.lesson_id)
        return frozenset(live_media(self.app).sessions), state, open_transports


@pytest.fixture
async def lesson(client: httpx.AsyncClient, tokens: Tokens) -> str:
    return await create_lesson(client, tokens)


@pytest.fixture
async def offer() -> AsyncIterator[str]:
    pc = RTCPeerConnection()
    sdp = await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240, fps=15))
    yield sdp
    await pc.close()


@pytest.fixture
async def unchanged(app: Starlette, client: httpx.AsyncClient, tokens: Tokens, lesson: str) -> AsyncIterator[None]:
    """Asserts the test's bad request left sessions, lesson state and transports as they were."""
    snapshot = Snapshot(app, client, tokens, lesson)
    before = await snapshot.take()
    yield
    assert await snapshot.take() == before


NO_MEDIA_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_wrong_content_type_is_415(
        client: httpx.AsyncClient, tokens: Tokens, lesson: str, offer: str, unchanged: None, kind: str) -> None:
    response = await client.post(f"/{kind}/{lesson}", content=offer,
                                 headers={**tokens.teacher(), "Content-Type": "text/plain"})

    assert response.status_code == 415


@pytest.mark.parametrize("body", ["hello, not sdp", NO_MEDIA_SDP, "v=0\r\nthis is garbage\r\n\x01\x02"],
                         ids=["not-sdp", "no-media", "garbage-after-v0"])
@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_malformed_sdp_is_400(
        client: httpx.AsyncClient, tokens: Tokens, lesson: str, unchanged: None, kind: str, body: str) -> None:
    response = await client.post(f"/{kind}/{lesson}", content=body, headers={**tokens.teacher(), **SDP})

    assert response.status_code == 400, response.text


async def test_non_utf8_body_is_400(client: httpx.AsyncClient, tokens: Tokens, lesson: str, unchanged: None) -> None:
    response = await client.post(f"/whip/{lesson}", content=b"v=0\r\n\xff\xfe", headers={**tokens.teacher(), **SDP})

    assert response.status_code == 400


async def test_oversized_offer_is_413(client: httpx.AsyncClient, tokens: Tokens, lesson: str, offer: str,
                                      unchanged: None) -> None:
    body = offer + "a=x-padding:" + "x" * (64 * 1024) + "\r\n"

    response = await client.post(f"/whip/{lesson}", content=body, headers={**tokens.teacher(), **SDP})

    assert response.status_code == 413


@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_unknown_lesson_is_404(app: Starlette, client: httpx.AsyncClient, tokens: Tokens, offer: str,
                                     kind: str) -> None:
    response = await client.post(f"/{kind}/no-such-lesson", content=offer, headers={**tokens.teacher(), **SDP})

    assert response.status_code == 404
    assert not live_media(app).sessions
    assert live_media(app).engine.existing("no-such-lesson") is None


@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_ended_lesson_is_409(app: Starlette, client: httpx.AsyncClient, tokens: Tokens, lesson: str,
                                   offer: str, kind: str) -> None:
    ended = await client.post(f"/api/lessons/{lesson}/end", headers=tokens.teacher())
    assert ended.status_code == 200

    response = await client.post(f"/{kind}/{lesson}", content=offer, headers={**tokens.teacher(), **SDP})

    assert response.status_code == 409
    assert not live_media(app).sessions
    assert await lesson_state(client, tokens, lesson) == "ended"


async def test_missing_token_is_401(client: httpx.AsyncClient, lesson: str, offer: str, unchanged: None) -> None:
    response = await client.post(f"/whip/{lesson}", content=offer, headers=SDP)

    assert response.status_code == 401


async def test_expired_token_is_401(app: Starlette, client: httpx.AsyncClient, lesson: str, offer: str,
                                    unchanged: None) -> None:
    past = TokenCodec(app.state.tokens._secret, clock=lambda: time.time() - 7200)
    token = past.issue("alice", Role.TEACHER, "east", ttl_s=60)

    response = await client.post(f"/whip/{lesson}", content=offer,
                                 headers={"Authorization": f"Bearer {token}", **SDP})

    assert response.status_code == 401


async def test_classroom_token_cannot_publish(client: httpx.AsyncClient, tokens: Tokens, lesson: str, offer: str,
                                              unchanged: None) -> None:
    response = await client.post(f"/whip/{lesson}", content=offer, headers={**tokens.classroom(lesson=lesson), **SDP})

    assert response.status_code == 403


async def test_teacher_of_another_lesson_cannot_publish(client: httpx.AsyncClient, tokens: Tokens, lesson: str,
                                                        offer: str, unchanged: None) -> None:
    response = await client.post(f"/whip/{lesson}", content=offer, headers={**tokens.teacher("bob"), **SDP})

    assert response.status_code == 403


@pytest.mark.parametrize("kind", ["whip", "whep"])
async def test_token_scoped_to_another_lesson_is_403(client: httpx.AsyncClient, tokens: Tokens, lesson: str,
                                                     offer: str, unchanged: None, kind: str) -> None:
    response = await client.post(f"/{kind}/{lesson}", content=offer,
                                 headers={**tokens.teacher(lesson="another-lesson"), **SDP})

    assert response.status_code == 403


async def test_patch_on_a_session_is_405_because_there_is_no_trickle_ice(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, published = await peers.publish(tokens.teacher(), lesson_id)
    session = session_at(app, published.headers["location"])

    response = await client.patch(published.headers["location"], content="a=candidate:1 1 udp 1 1.2.3.4 5 typ host",
                                  headers={**tokens.teacher(), "Content-Type": "application/trickle-ice-sdpfrag"})

    assert response.status_code == 405
    assert "DELETE" in response.headers["allow"]
    assert session.id in live_media(app).sessions and not session.transport.closed


@pytest.mark.parametrize("path", ["/whip/L1", "/whep/L1", "/whip/L1/some-session", "/whep/L1/some-session"])
async def test_options_is_a_cors_preflight(client: httpx.AsyncClient, path: str) -> None:
    response = await client.options(path, headers={"Origin": "https://teacher.example.org",
                                                   "Access-Control-Request-Method": "POST"})

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "DELETE" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "location" in response.headers["access-control-expose-headers"].lower()
    assert "link" not in response.headers  # no ICE servers configured


ICE_SERVERS = ("stun:stun.example.org:3478", "turn:u:p@turn.example.org:3478?transport=tcp")


@pytest.fixture
async def ice_client(tmp_path: Path) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    application = create_app(Settings(data_dir=tmp_path / "ice", ice_servers=ICE_SERVERS))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http


def _assert_ice_links(link: str) -> None:
    assert '<stun:stun.example.org:3478>; rel="ice-server"' in link
    assert ('<turn:turn.example.org:3478?transport=tcp>; rel="ice-server"; username="u"; credential="p"; '
            'credential-type="password"') in link


async def test_configured_ice_servers_are_advertised_in_link_headers(
        ice_client: tuple[Starlette, httpx.AsyncClient]) -> None:
    application, http = ice_client
    tokens = Tokens(application.state.tokens)
    lesson_id = await create_lesson(http, tokens)
    publisher = RTCPeerConnection()
    try:
        sdp = await publisher_offer(publisher, SyntheticAudio(), SyntheticVideo(320, 240, fps=15))
        created = await http.post(f"/whip/{lesson_id}", content=sdp, headers={**tokens.teacher(), **SDP})
        preflight = await http.options(f"/whip/{lesson_id}")
    finally:
        await publisher.close()

    assert created.status_code == 201, created.text
    _assert_ice_links(created.headers["link"])
    assert preflight.status_code == 204
    _assert_ice_links(preflight.headers["link"])


async def test_ending_the_lesson_ends_its_media_sessions(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens, peers: Peers) -> None:
    lesson_id = await create_lesson(client, tokens)
    _, published = await peers.publish(tokens.teacher(), lesson_id)
    _, watched = await peers.watch(tokens.classroom(), lesson_id)
    sessions = [session_at(app, r.headers["location"]) for r in (published, watched)]

    ended = await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())

    assert ended.status_code == 200
    assert not live_media(app).sessions
    assert all(s.transport.closed and s.transport.pc.connectionState == "closed" for s in sessions)
    assert live_media(app).engine.existing(lesson_id) is None
    assert lesson_id not in live_media(app).engine.routers
