"""media.stats: the relay's counters, read per kind, never go down when a consumer or producer closes."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aiortc import RTCConfiguration

from media import Consumer, Producer, Router, router_stats
from media.aiortc_adapter import InboundTap, OutboundParameters, OutboundPort
from media.rtp import ForwardedPacket

pytestmark = pytest.mark.usefixtures("fanout_impl")


class Port:
    """Stands in for a sender's transport: ``sends`` says whether it can send now."""

    ssrc = 1234

    def __init__(self, sends: bool) -> None:
        self.sends = sends

    def send(self, data: bytes) -> bool:
        return self.sends


class Tap:
    def request_keyframe(self) -> None:
        pass

    async def close(self) -> None:
        pass


def consumer(router: Router, sends: bool = True) -> Consumer:
    c = Consumer("video", lambda _c: cast(OutboundPort, Port(sends)))
    c.set_parameters(OutboundParameters("video/vp8", 90000, 96, 1234, []))
    router.count_consumer(c)
    return c


def producer(router: Router) -> Producer:
    p = Producer("video", "teacher/camera", lambda _p: cast(InboundTap, Tap()))
    p.mime_type = "video/vp8"
    router.count_producer(p)
    return p


def keyframe(seq: int) -> ForwardedPacket:
    return ForwardedPacket(seq, seq * 3000, 1, b"\x10\x00\x00\x9d\x01\x2a" + bytes(94), True, 0.0)


async def test_counters_of_a_closed_consumer_stay_in_the_totals() -> None:
    router = Router("L1", RTCConfiguration())
    pub, sub = producer(router), consumer(router)
    pub.packets, pub.octets = 5, 500
    sub.forward(pub, keyframe(1))
    sub.retransmit([1, 2])  # never sent (the outbound numbering starts at random): nothing to resend
    sub.keyframe_requested()
    before = router_stats(router)["video"]
    assert (before.forwarded_packets, before.forwarded_bytes, before.consumers) == (1, 100, 1)
    assert (before.nacked_packets, before.retransmitted_packets, before.keyframe_requests_received) == (2, 0, 1)
    assert (before.received_packets, before.received_bytes) == (5, 500)
    await sub.close()
    await pub.close()
    await sub.close()  # closing twice counts once
    after = router_stats(router)["video"]
    assert (after.forwarded_packets, after.forwarded_bytes, after.consumers, after.loss) == (1, 100, 0, [])
    assert (after.received_packets, after.nacked_packets, after.keyframe_requests_received) == (5, 2, 1)


async def test_a_packet_the_transport_cannot_send_is_a_send_failure() -> None:
    router = Router("L1", RTCConfiguration())
    pub, sub = producer(router), consumer(router, sends=False)
    sub.forward(pub, keyframe(1))
    sub.forward(pub, keyframe(2))
    stats = router_stats(router)["video"]
    assert (stats.send_failures, stats.forwarded_packets) == (2, 0)


class Follower:
    """A follower without a leg (like the recorder's tap) that records, or raises on, what it is given."""

    leg = None
    ready = True

    def __init__(self, fails: bool) -> None:
        self.feed: str | None = None
        self.fails = fails
        self.got: list[int] = []

    def bind(self, feed: str | None, request_keyframe: object) -> None:
        self.feed = feed

    def on_close(self, callback: object) -> None:
        pass

    def forward(self, producer: Producer, packet: ForwardedPacket) -> None:
        if self.fails:
            raise RuntimeError("a broken follower")
        self.got.append(packet.sequence_number)


async def test_a_follower_that_raises_costs_the_others_nothing_and_never_reaches_the_publisher(
    caplog: pytest.LogCaptureFixture
) -> None:
    router = Router("L1", RTCConfiguration())
    pub, sub = producer(router), consumer(router)
    feed = router.feed("teacher/camera", "video")
    broken, tap = Follower(fails=True), Follower(fails=False)
    for follower in (broken, sub, tap):
        feed.add(cast(Any, follower))
    feed.set_producer(pub)
    with caplog.at_level("ERROR", logger="media.feed"):
        for seq in (1, 2, 3):
            feed._deliver(pub, keyframe(seq))  # what the publisher's receive path calls: must not raise
    assert tap.got == [1, 2, 3]
    assert sub.packets == 3
    assert feed.delivery_failures == 3
    assert len([r for r in caplog.records if "feed delivery failed" in r.message]) == 2  # the 1st and the 2nd
    await router.close()
