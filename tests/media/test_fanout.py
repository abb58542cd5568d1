"""media.fanout: a leg rewrites, gates, remembers and counts the same way in C and in Python,
and the C leg's direct route (pylibsrtp's session, the socket's fd) puts SRTP a peer can read on the wire."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import pylibsrtp
import pytest

from media import fanout
from media.rtp import ForwardedPacket, one_byte_extensions

EXT = one_byte_extensions([(4, b"1")])


class Source:
    """A producer as a leg sees it: an identity."""


def packet(seq: int, ts: int, keyframe: bool = False, payload: bytes = b"\x01\x02\x03", arrival: float = 0.0,
           marker: int = 0) -> ForwardedPacket:
    return ForwardedPacket(seq, ts, marker, payload, keyframe, arrival)


class Script:
    """A leg of ``impl`` whose sends are recorded; ``sends`` says whether the route takes them."""

    def __init__(self, impl: fanout.Implementation, initial_seq: int = 1000, initial_ts: int = 5000) -> None:
        self.sent: list[bytes] = []
        self.sends = True
        self.switches: list[tuple[object, int]] = []
        self.leg = impl.leg(90000, initial_seq, initial_ts, self._send, None, self._on_switch)

    def _send(self, data: bytes) -> bool:
        if self.sends:
            self.sent.append(data)
        return self.sends

    def _on_switch(self, producer: Any, p: ForwardedPacket) -> bool:
        self.switches.append((producer, p.sequence_number))
        return p.keyframe


def header(data: bytes) -> tuple[int, int, int, int, int]:
    """(marker, payload type, seq, ts, ssrc)"""
    return (data[1] >> 7, data[1] & 0x7F, int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:8], "big"),
            int.from_bytes(data[8:12], "big"))


def run_script(impl: fanout.Implementation) -> tuple[Script, list[bytes]]:
    s = Script(impl)
    a, b = Source(), Source()
    leg = s.leg
    impl.deliver((leg,), a, packet(10, 100, keyframe=True))  # no header yet: nothing
    leg.set_header(96, 0xDEADBEEF, EXT)
    impl.deliver((leg,), a, packet(11, 200))  # not a keyframe: refused
    impl.deliver((leg,), a, packet(12, 300, keyframe=True, marker=1, arrival=1.0))
    impl.deliver((leg,), a, packet(13, 400, arrival=1.25))
    impl.deliver((leg,), a, packet(11, 200))  # predates the start: dropped
    leg.forward(a, packet(14, 500, arrival=1.5, payload=b"\x09" * 50))
    impl.deliver((leg,), b, packet(7, 9_000_000, keyframe=True, arrival=2.5))  # a new source, 1 s later
    leg.paused = True
    impl.deliver((leg,), b, packet(8, 9_000_100, arrival=2.75))
    leg.paused = False
    leg.source = None  # resuming waits for a keyframe
    impl.deliver((leg,), b, packet(9, 9_000_200, arrival=2.875))
    impl.deliver((leg,), b, packet(10, 9_000_300, keyframe=True, arrival=3.0))
    s.sends = False
    impl.deliver((leg,), b, packet(11, 9_000_400, arrival=3.25))
    s.sends = True
    leg.retransmit([1000, 1001, 1002, 999, 70000])  # 1000..1002 were sent; 999 never; 70000 is no seq
    return s, list(s.sent)


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_a_leg_gates_rebases_rewrites_and_remembers(impl: fanout.Implementation) -> None:
    s, sent = run_script(impl)
    heads = [header(d) for d in sent]
    assert heads[:3] == [(1, 96, 1000, 5000, 0xDEADBEEF), (0, 96, 1001, 5100, 0xDEADBEEF),
                         (0, 96, 1002, 5200, 0xDEADBEEF)]
    # the new source follows on: next sequence number, timestamp advanced by the 1 s gap at 90 kHz
    assert heads[3] == (0, 96, 1003, 5200 + 90000, 0xDEADBEEF)
    # after the pause: a keyframe restarts the stream where it stopped, 0.5 s later
    assert heads[4] == (0, 96, 1004, 5200 + 90000 + 45000, 0xDEADBEEF)
    assert [h[2] for h in heads[5:]] == [1000, 1001, 1002]  # the retransmissions, with their own headers
    assert sent[5:] == sent[:3]
    assert all(d[12:12 + len(EXT)] == EXT and d[0] == 0x90 for d in sent)
    assert sent[2][12 + len(EXT):] == b"\x09" * 50
    leg = s.leg
    assert (leg.packets, leg.octets, leg.send_failures, leg.retransmitted) == (5, 3 * 4 + 50, 1, 3)
    assert (leg.last_seq, leg.last_ts) == (1004, 5200 + 90000 + 45000)
    assert leg.last_time == 3.0
    assert [seq for _, seq in s.switches] == [11, 12, 7, 9, 10]


def test_both_legs_send_the_same_bytes() -> None:
    runs = [run_script(impl)[1] for impl in fanout.implementations()]
    if len(runs) < 2:
        pytest.skip("media._fanout is not built here (pip install -e . compiles media/_fanout.c with gcc)")
    assert runs[0] == runs[1]


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_a_restart_keeps_the_numbering_and_waits_for_a_keyframe(impl: fanout.Implementation) -> None:
    s = Script(impl, initial_seq=65535, initial_ts=0xFFFFFFF0)
    a = Source()
    s.leg.set_header(111, 7, b"")
    s.leg.forward(a, packet(1, 0, keyframe=True))
    s.leg.forward(a, packet(2, 960))
    s.leg.restart(48000)  # renegotiated: same stream, new parameters
    s.leg.forward(a, packet(3, 1920))
    s.leg.forward(a, packet(4, 2880, keyframe=True))
    assert [header(d)[2:4] for d in s.sent] == [(65535, 0xFFFFFFF0), (0, (0xFFFFFFF0 + 960) & 0xFFFFFFFF),
                                                (1, (0xFFFFFFF0 + 960) & 0xFFFFFFFF)]
    assert s.sent[0][0] == 0x80
    assert s.leg.outbound_timestamp(2880 + 960) == (0xFFFFFFF0 + 960 + 960) & 0xFFFFFFFF
    s.leg.clear_header()
    s.leg.forward(a, packet(5, 3840, keyframe=True))
    s.leg.retransmit([0])
    assert len(s.sent) == 3 and s.leg.source is None


# --- the direct route ---------------------------------------------------------------------------


class Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.put_nowait(data)


class Connection:
    """What a route watches: a state attribute and a nominated-pair map."""

    def __init__(self) -> None:
        self.state = "connected"
        self.nominated: dict[int, object] = {1: object()}


KEY = bytes(range(30))


def sessions() -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    """An SRTP sender and receiver, set up as aiortc's DTLS transport does (retransmissions allowed)."""
    tx_policy = pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    tx_policy.allow_repeat_tx = True
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    return pylibsrtp.Session(tx_policy), rx


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_a_resumed_leg_continues_another_senders_stream(impl: fanout.Implementation) -> None:
    s = Script(impl)
    a = Source()
    s.leg.set_header(96, 7, b"")
    s.leg.forward(a, packet(1, 0, keyframe=True, arrival=1.0))
    # a media worker sent up to seq 65535 / ts 900000, its last packet arriving at 2.0, then died
    s.leg.resume(90000, 65535, 900_000, 2.0, True)
    assert (s.leg.last_seq, s.leg.last_ts, s.leg.last_time, s.leg.started, s.leg.source) == (
        65535, 900_000, 2.0, True, None)
    s.leg.forward(a, packet(2, 3000, arrival=2.25))  # the same producer, but the leg gates on a keyframe again
    s.leg.forward(a, packet(3, 6000, keyframe=True, arrival=2.5))
    assert [header(d)[2:4] for d in s.sent] == [(1000, 5000), (0, 900_000 + 45000)]  # wraps; 0.5 s gap
    assert [seq for _, seq in s.switches] == [1, 2, 3]


@pytest.mark.parametrize("mode", ["fd", "transport", "fd-refused"])
async def test_the_native_route_sends_srtp_the_peer_can_read(mode: str) -> None:
    """fd: written to the socket; transport: no fd, through transport.sendto; fd-refused: the socket
    refuses the write (here: an address of another family), so the transport gets the packet."""
    if fanout.NATIVE is None:
        pytest.skip("media._fanout is not built here (pip install -e . compiles media/_fanout.c with gcc)")
    loop = asyncio.get_running_loop()
    receiver = Receiver()
    rx_transport, _ = await loop.create_datagram_endpoint(lambda: receiver, local_addr=("127.0.0.1", 0))
    tx_transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    tx, rx = sessions()
    conn = Connection()
    pair = conn.nominated[1]
    addr = rx_transport.get_extra_info("sockname")
    resolved: list[bool] = []

    def resolve() -> fanout.Route | None:
        resolved.append(conn.state == "connected")
        if conn.state != "connected":
            return None
        fd, sockaddr = (-1, b"") if mode == "transport" else fanout.socket_target(tx_transport, addr)
        if mode == "fd-refused":
            sockaddr = struct.pack("=H", socket.AF_UNIX) + sockaddr[2:]
        fn, ctx = fanout.srtp_pointers(tx)
        return fanout.Route(fn, ctx, tx, fd, sockaddr, tx_transport, addr, conn, "state", "connected",
                            conn.nominated, 1, pair)

    def refuse(data: bytes) -> bool:
        raise AssertionError("a leg with a resolver never calls send")

    try:
        leg = fanout.NATIVE.leg(90000, 100, 0, refuse, resolve, lambda producer, p: p.keyframe)
        leg.set_header(96, 0x1234, EXT)
        source = Source()
        for i in range(5):
            fanout.NATIVE.deliver((leg,), source, packet(i, i * 3000, keyframe=i == 0, payload=bytes([i]) * 100))
        got = [rx.unprotect(await asyncio.wait_for(receiver.datagrams.get(), 5)) for _ in range(5)]
        assert [header(d) for d in got] == [(0, 96, 100 + i, i * 3000, 0x1234) for i in range(5)]
        assert [d[12 + len(EXT):] for d in got] == [bytes([i]) * 100 for i in range(5)]
        assert (leg.direct, resolved) == (mode != "transport", [True])  # resolved once, then reused
        assert leg.direct_sends == (5 if mode == "fd" else 0)

        leg.retransmit([102])  # replay protection would refuse a repeat: the receiver needs a new session
        repeat = await asyncio.wait_for(receiver.datagrams.get(), 5)
        assert header(sessions()[1].unprotect(repeat)) == (0, 96, 102, 6000, 0x1234)

        conn.state = "closed"  # the guard no longer holds: resolved again, which finds no route
        fanout.NATIVE.deliver((leg,), source, packet(5, 15000))
        assert (leg.packets, leg.send_failures, leg.retransmitted, resolved) == (5, 1, 1, [True, False])
        conn.state = "connected"
        conn.nominated[1] = pair = object()  # a new ICE pair
        fanout.NATIVE.deliver((leg,), source, packet(6, 18000))
        assert header(rx.unprotect(await asyncio.wait_for(receiver.datagrams.get(), 5)))[2] == 106
        assert resolved == [True, False, True]
        tx_transport.close()  # a closing transport is not written to, even if nothing else changed
        fanout.NATIVE.deliver((leg,), source, packet(7, 21000))
        assert len(resolved) == (3 if mode == "transport" else 4)
        assert not leg.direct  # (its socket is still open until the loop closes it: the packet went out)
    finally:
        tx_transport.close()
        rx_transport.close()
        await asyncio.sleep(0)


# --- NACK storms --------------------------------------------------------------------------------


def sent_leg(impl: fanout.Implementation, count: int, size: int = 100) -> Script:
    """A leg that has sent ``count`` packets (outbound seqs 1000...) of ``size`` payload bytes."""
    s = Script(impl)
    s.leg.set_header(96, 1, b"")
    a = Source()
    for i in range(count):
        s.leg.forward(a, packet(i, i * 3000, keyframe=i == 0, payload=bytes(size)))
    s.sent.clear()
    return s


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_a_repeated_nack_resends_a_packet_once_per_round_trip(impl: fanout.Implementation) -> None:
    s = sent_leg(impl, 10)
    for _ in range(1000):  # a subscriber asking again and again for the same packets, at once
        s.leg.retransmit([1002, 1003, 1002] * 50, 10.0, None)
    assert [header(d)[2] for d in s.sent] == [1002, 1003]
    assert (s.leg.retransmitted, s.leg.retransmit_suppressed) == (2, 1000 * 150 - 2)
    s.leg.retransmit([1002], 10.0 + fanout.NACK_INTERVAL / 2, None)  # RTT unknown: NACK_INTERVAL apart
    s.leg.retransmit([1003], 10.0 + fanout.NACK_INTERVAL * 1.01, None)
    s.leg.retransmit([1002], 10.05, 0.02)  # a known round trip: once per RTT
    s.leg.retransmit([1002, 1002], 10.06, 0.02)
    assert [header(d)[2] for d in s.sent] == [1002, 1003, 1003, 1002]


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_retransmitted_bytes_are_capped_per_second(impl: fanout.Implementation) -> None:
    s = sent_leg(impl, 1000, size=1000)
    s.leg.retransmit(range(1000, 2000), 10.0, None)  # every packet of the history, each once
    burst = len(s.sent)
    assert burst * 1000 <= fanout.RETRANSMIT_BURST < (burst + 1) * 1000
    s.leg.retransmit(range(1000, 2000), 10.5, None)  # half a second later: half a second's worth more
    assert len(s.sent) - burst == fanout.RETRANSMIT_RATE // 2 // 1000
    assert s.leg.retransmitted == len(s.sent) and s.leg.retransmit_suppressed == 2000 - len(s.sent)


def test_both_legs_answer_a_nack_storm_alike() -> None:
    runs = []
    for impl in fanout.implementations():
        s = sent_leg(impl, 600, size=700)
        for step in range(40):
            s.leg.retransmit([1000 + (step * 37 + k) % 600 for k in range(200)], 5.0 + step * 0.0137, 0.03)
        runs.append((s.sent, s.leg.retransmitted, s.leg.retransmit_suppressed))
    if len(runs) < 2:
        pytest.skip("media._fanout is not built here (pip install -e . compiles media/_fanout.c with gcc)")
    assert runs[0] == runs[1]


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_a_nack_for_a_number_beyond_any_integer_type_is_ignored(impl: fanout.Implementation) -> None:
    s = sent_leg(impl, 3)
    s.leg.retransmit([1 << 70, -(1 << 70), 1001])
    assert [header(d)[2] for d in s.sent] == [1001]


@pytest.mark.parametrize("impl", fanout.implementations(), ids=lambda i: i.name)
def test_a_switch_hook_that_renegotiates_sends_with_the_new_header_and_numbering(
        impl: fanout.Implementation) -> None:
    sent: list[bytes] = []
    switches: list[object] = []

    def renegotiate(producer: Any, p: ForwardedPacket) -> bool:  # the second source: as Consumer.set_parameters
        switches.append(producer)
        if len(switches) == 2:
            leg.set_header(97, 2, b"")
            leg.restart(48000)
        return True

    def send(data: bytes) -> bool:
        sent.append(data)
        return True

    leg = impl.leg(90000, 500, 0, send, None, renegotiate)
    leg.set_header(96, 1, b"")
    leg.forward(Source(), packet(1, 3000, keyframe=True))
    leg.forward(Source(), packet(40, 7000, keyframe=True))
    leg.forward(switches[-1], packet(41, 7960))
    assert [header(d)[1:] for d in sent] == [(96, 500, 0, 1), (97, 501, 0, 2), (97, 502, 960, 2)]
    assert (leg.last_seq, leg.last_ts, leg.packets) == (502, 960, 3)


REENTRANT_ROUTE = """
import asyncio
import pylibsrtp
from media import fanout
from media.rtp import ForwardedPacket


class Closing(asyncio.DatagramProtocol):
    pass


async def main() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Closing, local_addr=("127.0.0.1", 0))
    addr = transport.get_extra_info("sockname")
    policy = pylibsrtp.Policy(key=bytes(30), ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    session = pylibsrtp.Session(policy)

    class Meddling:  # a transport whose is_closing() drops the route being checked
        def is_closing(self) -> bool:
            leg.drop_route()
            return False

        def sendto(self, data: bytes, addr: object) -> None:
            transport.sendto(data, addr)

        def get_write_buffer_size(self) -> int:
            return 0

    class Owner:
        state = "ok"

    fd, sockaddr = fanout.socket_target(transport, addr)
    fn, ctx = fanout.srtp_pointers(session)
    nominated = {1: "pair"}
    route = fanout.Route(fn, ctx, session, fd, sockaddr, Meddling(), addr, Owner(), "state", "ok", nominated, 1,
                         "pair")
    leg = fanout.NATIVE.leg(90000, 1, 0, lambda data: False, lambda: route, lambda producer, p: True)
    leg.set_header(96, 1, b"")
    for seq in range(3):
        leg.forward(object, ForwardedPacket(seq, 0, 0, b"x" * 10, True, 0.0))
    transport.close()
    print(leg.packets + leg.send_failures)


asyncio.run(main())
"""


def test_a_native_leg_survives_a_hook_that_drops_its_route_mid_send() -> None:
    if fanout.NATIVE is None:
        pytest.skip("media._fanout is not built here (pip install -e . compiles media/_fanout.c with gcc)")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", REENTRANT_ROUTE], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "3"), done.stderr
