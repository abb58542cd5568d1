"""What the relay does and does not do, at the engine level (no HTTP), with real aiortc peers.

The publisher sends pre-encoded VP8 and Opus packets and the subscribers take
their packets before aiortc's jitter buffer, so that no component of the test
needs a codec: any encoder or decoder created during the test is a relay bug.
"""

from __future__ import annotations

import asyncio
import fractions
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import av
import httpx
import numpy as np
import pylibsrtp
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.codecs import opus, vpx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket
from starlette.applications import Starlette

from media import MediaEngine, Router, Transport, fanout
from media.aiortc_adapter import InboundTap, tap_receiver
from server.live.sessions import LiveMedia
from tests.support.peers import publisher_offer
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fanout_impl")]

FPS = 15
CAMERA, MIC = "teacher/camera", "teacher/mic"


def name_feed(kind: str, mid: str) -> str:
    return CAMERA if kind == "video" else MIC


# --- pre-encoded media -----------------------------------------------------------------------


def _encode_vp8(count: int = 30, width: int = 320, height: int = 240) -> list[bytes]:
    context = av.CodecContext.create("libvpx", "w")
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = fractions.Fraction(1, FPS)
    context.framerate = fractions.Fraction(FPS)
    context.gop_size = FPS  # a keyframe every second, as the publisher ignores PLIs
    context.bit_rate = 300_000
    packets: list[av.Packet] = []
    for i in range(count):
        row = ((np.arange(width) + i * 4) % 256).astype(np.uint8)
        image = np.ascontiguousarray(np.stack([np.broadcast_to(row, (height, width))] * 3, axis=-1))
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        packets.extend(context.encode(frame))
    packets.extend(context.encode(None))
    assert packets[0].is_keyframe
    return [bytes(p) for p in packets]


def _encode_opus(count: int = 50) -> list[bytes]:
    context = av.CodecContext.create("libopus", "w")
    context.sample_rate, context.layout, context.format = 48000, "mono", "s16"
    context.time_base = fractions.Fraction(1, 48000)
    packets: list[bytes] = []
    for i in range(count):
        t = (np.arange(960) + i * 960) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * 960
        packets.extend(bytes(p) for p in context.encode(frame))
    return packets


@pytest.fixture(scope="module")
def vp8_packets() -> list[bytes]:
    return _encode_vp8()


@pytest.fixture(scope="module")
def opus_packets() -> list[bytes]:
    return _encode_opus()


class PreEncoded(MediaStreamTrack):
    """Replays encoded packets in real time; aiortc only packetizes them."""

    def __init__(self, kind: str, packets: list[bytes], step: int, clock_rate: int, rate: float) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._step, self._clock_rate, self._rate = packets, step, clock_rate, rate
        self._start: float | None = None
        self._index = 0

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._index / self._rate - time.monotonic()))
        packet = av.Packet(self._packets[self._index % len(self._packets)])
        packet.pts = self._index * self._step
        packet.time_base = fractions.Fraction(1, self._clock_rate)
        self._index += 1
        return packet


def video_track(packets: list[bytes]) -> PreEncoded:
    return PreEncoded("video", packets, 90000 // FPS, 90000, FPS)


def audio_track(packets: list[bytes]) -> PreEncoded:
    return PreEncoded("audio", packets, 960, 48000, 50)


# --- peers -----------------------------------------------------------------------------------


class DropOnce:
    """Stands in for a subscriber's inbound SRTP session and loses one packet of ``ssrc`` on the way,
    before decryption (so the subscriber's replay protection never saw it), whichever fan-out sent it."""

    def __init__(self, session: Any, ssrc: int, lost: list[int]) -> None:
        self._session, self._ssrc, self.lost = session, ssrc, lost

    def unprotect(self, data: bytes) -> bytes:
        if not self.lost and int.from_bytes(data[8:12], "big") == self._ssrc:
            self.lost.append(int.from_bytes(data[2:4], "big"))
            raise pylibsrtp.Error("lost on the way")
        return bytes(self._session.unprotect(data))

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return bytes(self._session.unprotect_rtcp(data))



class TappedSubscriber:
    """A receiving peer that records RTP packets instead of decoding them."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.packets: dict[str, list[RtpPacket]] = {"audio": [], "video": []}
        self.taps: dict[str, InboundTap] = {}
        self.receivers: dict[str, RTCRtpReceiver] = {}
        for kind in ("audio", "video"):
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            self.receivers[kind] = transceiver.receiver
            self.taps[kind] = tap_receiver(transceiver.receiver, self._recorder(kind), lambda ntp, rtp: None)

    def _recorder(self, kind: str) -> Callable[[RtpPacket, RTCRtpCodecParameters], None]:
        return lambda packet, codec: self.packets[kind].append(packet)

    def count(self, kind: str) -> int:
        return len(self.packets[kind])

    async def close(self) -> None:
        await self.pc.close()
        for tap in self.taps.values():
            await tap.close()


class Lesson:
    """A router with one publisher and tapped subscribers; everything closed at teardown."""

    def __init__(self, engine: MediaEngine, router: Router) -> None:
        self.engine, self.router = engine, router
        self.publisher = RTCPeerConnection()
        self.publisher_transport: Transport | None = None
        self.subscribers: list[tuple[TappedSubscriber, Transport]] = []

    async def publish(self, *tracks: MediaStreamTrack) -> Transport:
        transport = self.router.create_transport("teacher")
        answer = await transport.accept_offer(await publisher_offer(self.publisher, *tracks), name_feed)
        await self.publisher.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self.publisher_transport = transport
        return transport

    async def subscribe(self) -> tuple[TappedSubscriber, Transport]:
        subscriber = TappedSubscriber()
        transport = self.router.create_transport(f"viewer-{len(self.subscribers)}")
        await subscriber.pc.setLocalDescription(await subscriber.pc.createOffer())
        answer = await transport.accept_offer(subscriber.pc.localDescription.sdp, name_feed)
        await subscriber.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self.subscribers.append((subscriber, transport))
        return subscriber, transport

    async def close(self) -> None:
        await self.engine.close()
        for subscriber, _ in self.subscribers:
            await subscriber.close()
        await self.publisher.close()


@pytest.fixture
async def lesson() -> AsyncIterator[Lesson]:
    engine = MediaEngine()
    live = Lesson(engine, engine.router("L"))
    yield live
    await live.close()


def consumer_of(transport: Transport, kind: str) -> Any:
    return next(c for c in transport.consumers.values() if c.kind == kind)


# --- no codec on the relay path --------------------------------------------------------------


class CodecProbe:
    """Records who asks aiortc for an encoder or decoder, and every encode/decode call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import aiortc.codecs
        import aiortc.rtcrtpreceiver
        import aiortc.rtcrtpsender

        self.callers: list[object] = []
        self.coded: list[str] = []
        real_encoder, real_decoder = aiortc.codecs.get_encoder, aiortc.codecs.get_decoder
        for module in (aiortc.codecs, aiortc.rtcrtpsender):
            monkeypatch.setattr(module, "get_encoder", self._recording(real_encoder))
        for module in (aiortc.codecs, aiortc.rtcrtpreceiver):
            monkeypatch.setattr(module, "get_decoder", self._recording(real_decoder))
        for cls, method in ((vpx.Vp8Encoder, "encode"), (opus.OpusEncoder, "encode"),
                            (vpx.Vp8Decoder, "decode"), (opus.OpusDecoder, "decode")):
            monkeypatch.setattr(cls, method, self._refusing(f"{cls.__name__}.{method}"))

    def _recording(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.callers.append(sys._getframe(1).f_locals.get("self"))
            return real(*args, **kwargs)
        return wrapper

    def _refusing(self, name: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.coded.append(name)
            raise AssertionError(f"{name} called during a relay test")
        return wrapper


def _server_side_objects(router: Router) -> set[int]:
    return {id(obj) for transport in router.transports for t in transport.pc.getTransceivers()
            for obj in (t.sender, t.receiver)}


async def test_relay_neither_decodes_nor_encodes_while_forwarding_to_two_subscribers(
        monkeypatch: pytest.MonkeyPatch, lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    probe = CodecProbe(monkeypatch)
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    first, _ = await lesson.subscribe()
    second, _ = await lesson.subscribe()

    await wait_for(lambda: all(s.count("video") >= 60 and s.count("audio") >= 50 for s in (first, second)), 20)

    server_side = _server_side_objects(lesson.router)
    assert len(server_side) == 12  # 3 peer connections x (audio, video) x (sender, receiver)
    assert not [c for c in probe.callers if id(c) in server_side]
    publisher_senders = {id(s) for s in lesson.publisher.getSenders()}
    assert {id(c) for c in probe.callers} == publisher_senders  # the probe works: only packetizers were made
    assert probe.coded == []
    assert not [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]


# --- feedback from subscribers -----------------------------------------------------------------


async def test_nack_is_answered_from_the_consumer_cache(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes],
        fanout_impl: fanout.Implementation) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    await wait_for(lambda: subscriber.count("video") >= 20, 20)
    consumer = consumer_of(transport, "video")
    # the C fan-out writes to the ICE pair's socket itself; the Python one goes through the port
    assert consumer.leg.direct is (fanout_impl.name == "native")
    wanted = subscriber.packets["video"][5]
    retransmitted_before = consumer.retransmitted

    # (the subscriber's SRTP replay protection discards this copy: it already has the packet)
    await subscriber.receivers["video"]._send_rtcp_nack(wanted.ssrc, [wanted.sequence_number])

    await wait_for(lambda: consumer.retransmitted > retransmitted_before, 10)


async def test_packet_lost_on_the_way_to_a_subscriber_is_recovered_from_the_cache(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    await wait_for(lambda: subscriber.count("video") >= 10, 20)
    consumer = consumer_of(transport, "video")
    dtls = subscriber.receivers["video"].transport
    lost: list[int] = []
    # the network drops the next video packet
    dtls._rx_srtp = DropOnce(dtls._rx_srtp, consumer.ssrc, lost)  # type: ignore[assignment]

    await wait_for(lambda: bool(lost), 10)

    await wait_for(lambda: any(p.sequence_number == lost[0] for p in subscriber.packets["video"]), 10)
    assert consumer.retransmitted >= 1
    assert [p.sequence_number for p in subscriber.packets["video"]].count(lost[0]) == 1


async def test_nack_for_a_packet_never_sent_is_ignored(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    await wait_for(lambda: subscriber.count("video") >= 20, 20)
    consumer = consumer_of(transport, "video")
    last = subscriber.packets["video"][-1]
    never_sent = (last.sequence_number + 30000) & 0xFFFF
    keyframe_requests, retransmitted = consumer.keyframe_requests, consumer.retransmitted

    await subscriber.receivers["video"]._send_rtcp_nack(last.ssrc, [never_sent])
    await subscriber.receivers["video"]._send_rtcp_pli(last.ssrc)  # a marker sent after the NACK

    await wait_for(lambda: consumer.keyframe_requests > keyframe_requests, 10)
    assert consumer.retransmitted == retransmitted


async def test_keyframe_requests_from_many_subscribers_reach_the_publisher_throttled(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    publisher_plis: list[float] = []
    loop = asyncio.get_running_loop()
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    video_sender = next(s for s in lesson.publisher.getSenders() if s.track and s.track.kind == "video")
    original = video_sender._handle_rtcp_packet

    async def count_pli(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            publisher_plis.append(loop.time())
        await original(packet)

    video_sender._handle_rtcp_packet = count_pli  # type: ignore[method-assign]
    subscribers = [await lesson.subscribe() for _ in range(3)]
    await wait_for(lambda: all(s.count("video") >= 10 for s, _ in subscribers), 20)
    feed = lesson.router.feeds[CAMERA]
    await wait_for(lambda: feed._throttle._deferred is None, 5)
    consumers = [consumer_of(t, "video") for _, t in subscribers]
    received_before = sum(c.keyframe_requests for c in consumers)
    sent_before, plis_before = feed.keyframe_requests_sent, len(publisher_plis)

    for _ in range(2):  # six PLIs within a few milliseconds
        for subscriber, _ in subscribers:
            await subscriber.receivers["video"]._send_rtcp_pli(subscriber.packets["video"][-1].ssrc)

    await wait_for(lambda: sum(c.keyframe_requests for c in consumers) >= received_before + 6, 10)
    await wait_for(lambda: feed._throttle._deferred is None, 5)
    await wait_for(lambda: len(publisher_plis) - plis_before == feed.keyframe_requests_sent - sent_before, 5)
    upstream = feed.keyframe_requests_sent - sent_before
    assert 1 <= upstream <= 2  # one now (if the window was open) and one deferred to the window's end
    burst = publisher_plis[plis_before:]
    assert all(b - a >= 0.5 - 0.05 for a, b in zip(burst, burst[1:], strict=False))


# --- lifecycle -------------------------------------------------------------------------------


async def test_closing_the_router_closes_everything_and_leaves_no_task_behind(
        vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    tasks_before = asyncio.all_tasks()
    engine = MediaEngine()
    lesson = Lesson(engine, engine.router("L"))
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    for _ in range(2):
        await lesson.subscribe()
    await wait_for(lambda: all(s.count("video") >= 10 for s, _ in lesson.subscribers), 20)
    router = lesson.router
    transports = list(router.transports)
    producers = [p for t in transports for p in t.producers.values()]
    consumers = [c for t in transports for c in t.consumers.values()]
    assert len(transports) == 3 and len(producers) == 2 and len(consumers) == 4

    await router.close()
    await router.close()  # idempotent

    assert router.closed
    assert all(t.closed and t.pc.connectionState == "closed" for t in transports)
    assert all(p.closed for p in producers) and all(c.closed for c in consumers)
    assert not router.transports
    assert not any(feed.live or feed.consumers for feed in router.feeds.values())
    await lesson.close()
    own = asyncio.current_task()

    def leftovers() -> set[asyncio.Task[Any]]:
        return {t for t in asyncio.all_tasks() - tasks_before if t is not own and not t.done()}

    await wait_for(lambda: not leftovers(), 10)


async def test_a_closed_router_refuses_new_transports_and_the_engine_makes_a_fresh_one(lesson: Lesson) -> None:
    from media import MediaClosedError

    await lesson.router.close()

    with pytest.raises(MediaClosedError):
        lesson.router.create_transport("late")
    fresh = lesson.engine.router("L")
    assert fresh is not lesson.router and not fresh.closed


async def test_ending_a_lesson_through_the_api_closes_its_router(
        app: Starlette, client: httpx.AsyncClient, tokens: Tokens,
        vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    created = await client.post("/api/lessons", json={"title": "Mould design"}, headers=tokens.teacher())
    lesson_id = created.json()["id"]
    publisher = RTCPeerConnection()
    try:
        offer = await publisher_offer(publisher, audio_track(opus_packets), video_track(vp8_packets))
        published = await client.post(f"/whip/{lesson_id}", content=offer,
                                      headers={**tokens.teacher(), "Content-Type": "application/sdp"})
        assert published.status_code == 201, published.text
        await publisher.setRemoteDescription(RTCSessionDescription(sdp=published.text, type="answer"))
        live: LiveMedia = app.state.live_media
        router = live.engine.routers[lesson_id]
        await wait_for(lambda: router.feeds.get(CAMERA) is not None and router.feeds[CAMERA].live, 10)
        transports = list(router.transports)

        ended = await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())

        assert ended.status_code == 200
        assert lesson_id not in live.engine.routers
        assert router.closed
        assert transports and all(t.closed and t.pc.connectionState == "closed" for t in transports)
        assert not live.sessions
    finally:
        await publisher.close()

