"""A consumer whose packets a media worker sends: its leg sends nothing, its commands and reports
go to the worker, and when the worker is gone its leg continues the worker's stream, with each
fan-out built here. (tests/media/test_workers.py runs the same hand-over with real processes.)"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from media import Consumer, fanout
from media.aiortc_adapter import OutboundParameters, SenderReport
from media.rtp import ForwardedPacket
from media.workers.wire import RebaseState


@pytest.fixture(autouse=True, params=fanout.implementations(), ids=lambda i: i.name)
def impl(request: pytest.FixtureRequest) -> Iterator[fanout.Implementation]:
    before = fanout.implementation()
    fanout.use(request.param)
    yield request.param
    fanout.use(before)


class Port:
    """What a consumer writes to: the packets it sent (no direct route, so a C leg calls ``send`` too)."""

    ssrc = 0xC0FFEE

    def __init__(self, consumer: Consumer) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> bool:
        self.sent.append(data)
        return True


class Worker:
    """The consumer's side of a media worker (``media.consumer.Offload``): what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.report = SenderReport(1, 2, 3, 4)

    def rebind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None:
        self.calls.append(("rebind", feed))

    def set_paused(self, paused: bool) -> None:
        self.calls.append(("pause", paused))

    def retransmit(self, sequence_numbers: list[int]) -> None:
        self.calls.append(("nack", list(sequence_numbers)))

    def sender_report(self) -> SenderReport | None:
        return self.report


class Camera:
    mime_type = "video/VP8"
    clock_rate = 90000
    last_sender_report = None


def packet(seq: int, keyframe: bool = False, arrival: float = 0.0) -> ForwardedPacket:
    return ForwardedPacket(seq, seq * 3000, 0, b"\x10" * 10, keyframe, arrival)


def seq_ssrc(data: bytes) -> tuple[int, int]:
    seq, _, ssrc = struct.unpack_from("!HII", data, 2)
    return seq, ssrc


def test_an_offloaded_consumer_delegates_to_its_worker_and_resumes_its_stream(
        impl: fanout.Implementation) -> None:
    ports: list[Port] = []

    def make_port(c: Consumer) -> Any:  # an OutboundPort as far as the consumer uses one
        ports.append(Port(c))
        return ports[-1]

    consumer = Consumer("video", make_port)
    port, camera, keyframes = ports[0], Camera(), []
    consumer.bind("teacher/camera", lambda: keyframes.append(1))
    consumer.set_parameters(OutboundParameters("video/VP8", 90000, 96, port.ssrc, []))
    impl.deliver((consumer.leg,), camera, packet(10, keyframe=True, arrival=1.0))
    impl.deliver((consumer.leg,), camera, packet(11, arrival=1.1))
    first_seq = seq_ssrc(port.sent[0])[0]
    assert consumer.packets == 2 and consumer.remote is None

    worker = Worker()
    consumer.offload(worker)
    impl.deliver((consumer.leg,), camera, packet(12, keyframe=True, arrival=1.2))  # the worker sends, not the leg
    consumer.retransmit([first_seq])
    consumer.set_paused(True)
    consumer.set_paused(False)
    consumer.bind("teacher/screen", lambda: keyframes.append(2))
    assert len(port.sent) == 2
    assert worker.calls == [("rebind", "teacher/camera"), ("nack", [first_seq]), ("pause", True), ("pause", False),
                            ("rebind", "teacher/screen")]
    assert consumer.sender_report() is worker.report
    consumer.count_remote(502, 5020, 1, 0)  # the worker's report, added to what was sent before
    assert (consumer.packets, consumer.octets, consumer.retransmitted, consumer.nacked) == (502, 5020, 1, 1)

    consumer.resume_local(RebaseState((first_seq + 1 + 500 + 512) & 0xFFFF, 777_000, 1.3, True))  # worker died
    impl.deliver((consumer.leg,), camera, packet(13, arrival=1.4))  # not a keyframe: the leg asks for one
    impl.deliver((consumer.leg,), camera, packet(14, keyframe=True, arrival=1.5))
    assert [seq_ssrc(d) for d in port.sent[2:]] == [((first_seq + 1 + 500 + 512 + 1) & 0xFFFF, port.ssrc)]
    assert struct.unpack_from("!I", port.sent[2], 4)[0] == 777_000 + int((1.5 - 1.3) * 90000)  # the gap
    assert consumer.packets == 503 and consumer.sender_report() is not worker.report
    consumer.retransmit([first_seq])  # from the leg's own history again
    assert port.sent[-1] == port.sent[0] and worker.calls[-1] == ("rebind", "teacher/screen")
