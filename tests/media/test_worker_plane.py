"""The worker's data plane without processes or sockets: what one pipe datagram does to each stream."""

from __future__ import annotations

import marshal
import socket
import struct
from collections.abc import Iterator

import pylibsrtp
import pytest

from media import fanout
from media.rtp import ForwardedPacket
from media.workers.plane import DataPlane, OutboundStream
from media.workers.process import Outbound
from media.workers.wire import OutboundSpec, RebaseState, decode, encode, pack_packet, pack_source

VP8_KEY = b"\x10\x00\x00\x9d\x01\x2a" + b"k" * 20
VP8_DELTA = b"\x10\x01\x00" + b"d" * 20


@pytest.fixture(autouse=True, params=fanout.implementations(), ids=lambda i: i.name)
def impl(request: pytest.FixtureRequest) -> Iterator[fanout.Implementation]:
    """Every test runs with each fan-out built here: the worker's streams are its legs."""
    before = fanout.implementation()
    fanout.use(request.param)
    yield request.param
    fanout.use(before)


def plane_with(count: int) -> tuple[DataPlane, list[list[bytes]]]:
    plane = DataPlane()
    sent: list[list[bytes]] = []
    for cid in range(count):
        out: list[bytes] = []
        sent.append(out)
        spec = OutboundSpec("video/vp8", 90000, 96, 1000 + cid, b"")
        plane.add(OutboundStream(cid, spec, RebaseState(99, 5000, None, False), _appender(out), plane.wanted))
        plane.bind(cid, 7)
    plane.receive(pack_source(7, 1, 90000, "video/vp8"))
    return plane, sent


def _appender(out: list[bytes]):  # type: ignore[no-untyped-def]
    def send(data: bytes) -> bool:
        out.append(data)
        return True
    return send


def header(data: bytes) -> tuple[int, int, int, int]:
    """(payload type with marker, seq, ts, ssrc)"""
    _, pt, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    return pt, seq, ts, ssrc


def test_one_pipe_datagram_reaches_every_stream_starting_on_a_keyframe() -> None:
    plane, sent = plane_with(3)
    plane.receive(pack_packet(7, 500, 90000, 0, False, 1.0, VP8_DELTA))
    assert sent == [[], [], []] and plane.keyframe_wanted() == [0, 1, 2]

    plane.receive(pack_packet(7, 501, 93000, 1, True, 1.1, VP8_KEY))
    plane.receive(pack_packet(7, 502, 96000, 0, False, 1.2, VP8_DELTA))

    for cid, out in enumerate(sent):
        assert [header(d) for d in out] == [(96 | 0x80, 100, 5000, 1000 + cid), (96, 101, 8000, 1000 + cid)]
        assert out[0].endswith(VP8_KEY)


def test_a_new_source_continues_the_stream_after_its_keyframe() -> None:
    plane, sent = plane_with(1)
    plane.receive(pack_packet(7, 500, 90000, 0, True, 1.0, VP8_KEY))
    plane.receive(pack_source(7, 2, 90000, "video/vp8"))  # the teacher reloads: new bases
    plane.receive(pack_packet(7, 40000, 123, 0, False, 1.5, VP8_DELTA))  # not a keyframe: skipped
    plane.receive(pack_packet(7, 40001, 3123, 0, True, 1.6, VP8_KEY))

    (_, seq0, ts0, _), (_, seq1, ts1, _) = (header(d) for d in sent[0])
    assert seq1 == seq0 + 1
    assert ts1 - ts0 == int(0.6 * 90000)  # the wall-clock gap


def test_nack_resends_from_history_and_ignores_what_was_never_sent() -> None:
    plane, sent = plane_with(1)
    plane.receive(pack_packet(7, 500, 90000, 0, True, 1.0, VP8_KEY))
    plane.receive(pack_packet(7, 501, 93000, 0, False, 1.1, VP8_DELTA))
    stream = plane.streams[0]

    stream.retransmit([100, 30000])

    assert sent[0][-1] == sent[0][0] and len(sent[0]) == 3
    assert stream.retransmitted == 1 and stream.packets == 2


def test_pause_stops_and_resume_waits_for_a_keyframe() -> None:
    plane, sent = plane_with(1)
    plane.receive(pack_packet(7, 500, 90000, 0, True, 1.0, VP8_KEY))
    plane.streams[0].set_paused(True)
    plane.receive(pack_packet(7, 501, 93000, 0, True, 1.1, VP8_KEY))
    plane.streams[0].set_paused(False)
    plane.receive(pack_packet(7, 502, 96000, 0, False, 1.2, VP8_DELTA))
    assert len(sent[0]) == 1

    plane.receive(pack_packet(7, 503, 99000, 0, True, 1.3, VP8_KEY))
    assert len(sent[0]) == 2 and header(sent[0][1])[1] == header(sent[0][0])[1] + 1


def test_a_dropped_pipe_stops_its_streams_and_unknown_pipes_are_counted() -> None:
    plane, sent = plane_with(2)
    plane.drop_pipe(7)
    plane.receive(pack_packet(7, 500, 90000, 0, True, 1.0, VP8_KEY))
    assert sent == [[], []] and plane.dropped == 1
    assert all(s.pipe is None for s in plane.streams.values())


def test_control_messages_round_trip_and_garbage_is_refused() -> None:
    assert decode(encode(("nack", 3, [1, 2]))) == ("nack", 3, [1, 2])
    for bad in (marshal.dumps([1]), encode(()), encode((1, 2))):
        try:
            decode(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_a_stream_sends_srtp_its_subscriber_reads_on_the_workers_socket(impl: fanout.Implementation) -> None:
    """The worker's Outbound: its session and (dup'ed) socket, as a send callable or a C leg's route."""
    key = bytes(range(30))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    sock.setblocking(False)
    out = Outbound(sock, key, pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, peer.getsockname())
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    try:
        plane = DataPlane()
        spec = OutboundSpec("video/vp8", 90000, 96, 4242, b"")
        stream = OutboundStream(1, spec, RebaseState(99, 5000, None, False), out.send, plane.wanted, out.route,
                                out.dropped)
        plane.add(stream)
        plane.bind(1, 7)
        plane.receive(pack_source(7, 1, 90000, "video/vp8"))
        plane.receive(pack_packet(7, 500, 90000, 1, True, 1.0, VP8_KEY))
        plane.receive(pack_packet(7, 501, 93000, 0, False, 1.1, VP8_DELTA))

        got = [rx.unprotect(peer.recv(2048)) for _ in range(2)]
        assert [header(d) for d in got] == [(96 | 0x80, 100, 5000, 4242), (96, 101, 8000, 4242)]
        assert got[0].endswith(VP8_KEY) and got[1].endswith(VP8_DELTA)
        assert stream.leg.direct_sends == (2 if impl.name == "native" else 0)  # C: sendto on the fd

        plane.remove(1)
        out.close()  # what the worker does on "remove": nothing is written to the closed socket after
        stream.leg.set_header(96, 4242, b"")
        stream.leg.forward(plane.pipes[7].source, ForwardedPacket(502, 96000, 0, VP8_KEY, True, 1.2))
        assert stream.packets == 2 and stream.send_failures == 1
    finally:
        peer.close()
        if not out.port.closed:
            out.close()
