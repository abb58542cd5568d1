"""Fan-out: the per-packet, per-subscriber work of the relay, in C when it is built.

A ``Leg`` is one outbound stream's send state: the RTP header template (payload
type, SSRC, one-byte extensions), the rebasing of sequence numbers and timestamps
(``media.rtp.StreamRebaser``), the NACK history, the counters, and the route a
packet takes (the DTLS transport's SRTP session and the nominated ICE pair's UDP
socket). ``deliver(legs, producer, packet)`` forwards one inbound packet to every
leg in one call: gate on the source (keyframe at start and after a source
change, asked through ``on_switch``), rebase, rewrite, protect, send, remember.

Two implementations share this API and its behaviour:

- ``media._fanout`` (``media/_fanout.c``), compiled by ``pip install -e .``
  (setup.py; optional: a machine without a C compiler gets the Python one). It
  calls pylibsrtp's own ``srtp_protect`` through a function pointer taken from
  pylibsrtp's cffi binding (one libsrtp in the process) and writes with
  ``sendto(2)`` on the socket's fd; whatever the socket will not take at once
  (EAGAIN, an ICMP error) goes through the asyncio transport, which buffers or
  reports it, and the leg keeps sending through the transport until its buffer
  is empty, so packets stay in order.
- ``PythonLeg`` / ``python_deliver`` below, the reference: a port's
  ``send(bytes) -> bool`` does protection and sending.

``implementation()`` is the one in use: the C one when importable, unless the
environment sets ``CLASSROOM_FANOUT=python``. A ``Leg``'s hooks:

- ``send(data) -> bool``: protect and send a built RTP packet (the Python legs,
  and the C legs when ``resolve`` is None);
- ``resolve() -> Route | None``: the current direct route, None when the
  transport cannot send (not connected): that packet is a send failure;
- ``on_switch(producer, packet) -> bool``: a packet from a producer the leg does
  not follow yet; True to rebase onto it now (the consumer checks codec and
  keyframe, and asks for a keyframe when refusing).

A ``Route`` stays valid while ``getattr(guard_owner, guard_attr) is
guard_expected``, ``guard_map.get(guard_key) is guard_value`` and (with an fd)
``not transport.is_closing()``; the C leg checks this before each packet and
calls ``resolve`` again when it fails.

API (both implementations; ``implementation().leg(...)`` / ``.deliver(...)``):

- ``leg(clock_rate, initial_seq, initial_ts, send, resolve, on_switch)``;
- ``set_header(payload_type, ssrc, extensions)`` starts sending, ``clear_header()``
  stops it; ``restart(clock_rate)`` keeps the numbering after the last packet sent
  and waits for a new source; ``resume(clock_rate, last_seq, last_ts, last_time,
  started)`` does the same after another sender's last packet (a media worker's);
  ``paused`` (read/write); ``source`` (the producer
  followed, reset it to None to gate on a keyframe again);
- ``forward(producer, packet)``, ``deliver(legs, producer, packet)`` (a tuple of
  legs; an item that is not a C leg gets ``item.forward(producer, packet)``);
- ``retransmit(sequence_numbers, now=None, rtt=None)`` from the NACK history (``HISTORY``
  packets), bounded against NACK storms: one packet is resent at most once per ``rtt`` (at
  least ``NACK_MIN_INTERVAL``; ``NACK_INTERVAL`` when the round trip is unknown), and the
  payload bytes resent at most ``RETRANSMIT_BURST`` at once, ``RETRANSMIT_RATE`` per second
  (a token bucket; whole bytes). ``now`` is ``time.monotonic()`` unless given (tests);
- ``packets``, ``octets`` (payload bytes), ``send_failures``, ``retransmitted``,
  ``retransmit_suppressed`` (NACKed packets in history not resent: too soon, or over budget);
  ``last_seq``, ``last_ts``, ``last_time``, ``started``, ``outbound_timestamp(in_ts)`` for
  sender reports; ``direct`` / ``direct_sends`` (the C leg writes to an fd).

A packet SRTP refuses (longer than pylibsrtp's 1356-byte limit) is a send failure.
Both run on the event loop's thread; nothing here is thread-safe.
"""

from __future__ import annotations

import importlib
import math
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from .rtp import ForwardedPacket, HeaderWriter, StreamRebaser

__all__ = [
    "HISTORY",
    "ENV",
    "NACK_INTERVAL",
    "NACK_MIN_INTERVAL",
    "RETRANSMIT_BURST",
    "RETRANSMIT_RATE",
    "Implementation",
    "Leg",
    "PythonLeg",
    "Route",
    "implementation",
    "implementations",
    "python_deliver",
    "socket_target",
    "srtp_pointers",
]

HISTORY = 1024  # packets kept for NACK answers (~5 s of 720p video)
ENV = "CLASSROOM_FANOUT"  # "python" forces the pure-Python fan-out
NACK_INTERVAL = 0.1  # s between two resends of one packet while the round trip is unknown
NACK_MIN_INTERVAL = 0.01  # s between two resends of one packet, however short the round trip
RETRANSMIT_RATE = 125_000  # payload bytes per second a leg may resend (1 Mbit/s: half a 2 Mbit/s lesson)
RETRANSMIT_BURST = 125_000  # payload bytes a leg may resend at once (~100 full packets)


class Route(NamedTuple):
    """How a C leg sends: SRTP protect function and context, socket, and when to look again."""

    protect_fn: int
    srtp_ctx: int
    session: object  # the pylibsrtp.Session owning srtp_ctx, kept alive by the route
    fd: int  # -1: send through transport.sendto
    sockaddr: bytes  # struct sockaddr_in/_in6 of the remote address (b"" without fd)
    transport: Any
    addr: Any
    guard_owner: object
    guard_attr: str
    guard_expected: object
    guard_map: dict[Any, Any]
    guard_key: object
    guard_value: object


Send = Callable[[bytes], bool]
Resolve = Callable[[], Route | None]
OnSwitch = Callable[[Any, ForwardedPacket], bool]


class Leg(Protocol):
    """What both implementations of a leg provide (see the module docstring)."""

    packets: int
    octets: int
    send_failures: int
    retransmitted: int
    retransmit_suppressed: int
    paused: bool

    @property
    def source(self) -> object: ...

    @source.setter
    def source(self, value: None) -> None: ...

    @property
    def active(self) -> bool: ...

    @property
    def last_seq(self) -> int: ...

    @property
    def last_ts(self) -> int: ...

    @property
    def last_time(self) -> float | None: ...

    @property
    def started(self) -> bool: ...

    @property
    def direct(self) -> bool: ...

    @property
    def direct_sends(self) -> int: ...

    def set_header(self, payload_type: int, ssrc: int, extensions: bytes) -> None: ...

    def clear_header(self) -> None: ...

    def restart(self, clock_rate: int) -> None: ...

    def resume(self, clock_rate: int, last_seq: int, last_ts: int, last_time: float | None, started: bool) -> None: ...

    def rebase(self, source: object, seq: int, ts: int, now: float) -> None: ...

    def forward(self, producer: Any, packet: ForwardedPacket) -> None: ...

    def retransmit(self, sequence_numbers: Iterable[int], now: float | None = None,
                   rtt: float | None = None) -> None: ...

    def outbound_timestamp(self, in_ts: int) -> int: ...


class PythonLeg:
    """The reference leg: what ``media._fanout.Leg`` does, in Python."""

    def __init__(self, clock_rate: int, initial_seq: int, initial_ts: int, send: Send, resolve: Resolve | None,
                 on_switch: OnSwitch) -> None:
        self.packets = 0
        self.octets = 0
        self.send_failures = 0
        self.retransmitted = 0
        self.retransmit_suppressed = 0
        self.paused = False
        self._source: object = None
        self._send = send
        self._on_switch = on_switch
        self._writer: HeaderWriter | None = None
        self._rebaser = StreamRebaser(clock_rate, initial_seq, initial_ts)
        # NACK history as parallel lists: no per-packet allocation and nothing new for the cyclic GC to walk
        self._sent_seq: list[int] = [-1] * HISTORY
        self._sent_ts: list[int] = [0] * HISTORY
        self._sent_packet: list[ForwardedPacket | None] = [None] * HISTORY
        self._resent_at: list[float] = [-math.inf] * HISTORY  # when each slot's packet was last resent
        self._budget = RETRANSMIT_BURST  # retransmission token bucket, payload bytes
        self._budget_time: float | None = None

    @property
    def source(self) -> object:
        return self._source

    @source.setter
    def source(self, value: None) -> None:
        if value is not None:
            raise ValueError("a leg's source is set by rebase(); it can only be reset to None")
        self._source = None

    @property
    def active(self) -> bool:
        return self._writer is not None and not self.paused

    @property
    def last_seq(self) -> int:
        return self._rebaser.last_seq

    @property
    def last_ts(self) -> int:
        return self._rebaser.last_ts

    @property
    def last_time(self) -> float | None:
        return self._rebaser.last_time

    @property
    def started(self) -> bool:
        return self._rebaser.started

    @property
    def direct(self) -> bool:
        return False

    @property
    def direct_sends(self) -> int:
        return 0

    def set_header(self, payload_type: int, ssrc: int, extensions: bytes) -> None:
        self._writer = HeaderWriter(payload_type, ssrc, extensions)

    def clear_header(self) -> None:
        self._writer = None
        self._source = None

    def restart(self, clock_rate: int) -> None:
        self._rebaser = StreamRebaser(clock_rate, self._rebaser.last_seq + 1, self._rebaser.last_ts)
        self._source = None

    def resume(self, clock_rate: int, last_seq: int, last_ts: int, last_time: float | None, started: bool) -> None:
        rebaser = self._rebaser = StreamRebaser(clock_rate, (last_seq + 1) & 0xFFFF, last_ts & 0xFFFFFFFF)
        rebaser.last_time = last_time
        rebaser.started = started
        self._source = None

    def rebase(self, source: object, seq: int, ts: int, now: float) -> None:
        self._rebaser.rebase(source, seq, ts, now)
        self._source = source

    def forward(self, producer: Any, packet: ForwardedPacket) -> None:
        if self._writer is None or self.paused:
            return
        if producer is not self._source:
            if not self._on_switch(producer, packet) or self._writer is None or self.paused:
                return
            self.rebase(producer, packet.sequence_number, packet.timestamp, packet.arrival)
        writer, rebaser = self._writer, self._rebaser  # (after the hook: it may have renegotiated)
        mapped = rebaser.map(packet.sequence_number, packet.timestamp)
        if mapped is None:
            return
        seq, ts = mapped
        if self._send(writer.packet(packet.marker, seq, ts, packet.payload)):
            slot = seq % HISTORY
            self._sent_seq[slot] = seq
            self._sent_ts[slot] = ts
            self._sent_packet[slot] = packet
            self._resent_at[slot] = -math.inf
            rebaser.sent(seq, ts, packet.arrival)
            self.packets += 1
            self.octets += len(packet.payload)
        else:
            self.send_failures += 1

    def retransmit(self, sequence_numbers: Iterable[int], now: float | None = None, rtt: float | None = None) -> None:
        writer = self._writer
        if writer is None:
            return
        now = time.monotonic() if now is None else now
        interval = NACK_INTERVAL if rtt is None else rtt if rtt >= NACK_MIN_INTERVAL else NACK_MIN_INTERVAL
        self._refill(now)
        for seq in sequence_numbers:
            slot = seq % HISTORY
            packet = self._sent_packet[slot]
            if packet is None or self._sent_seq[slot] != seq:
                continue  # too old, or never sent: the subscriber will ask for a keyframe
            cost = len(packet.payload)
            if now - self._resent_at[slot] < interval or cost > self._budget:
                self.retransmit_suppressed += 1
            elif self._send(writer.packet(packet.marker, seq, self._sent_ts[slot], packet.payload)):
                self.retransmitted += 1
                self._budget -= cost
                self._resent_at[slot] = now
            else:
                self.send_failures += 1

    def _refill(self, now: float) -> None:
        """Whole bytes earned since the last refill (the time moves on only when one is: none are lost)."""
        if self._budget_time is None:
            self._budget_time = now
            return
        earned = int((now - self._budget_time) * RETRANSMIT_RATE)
        if earned > 0:
            self._budget = min(RETRANSMIT_BURST, self._budget + earned)
            self._budget_time = now

    def outbound_timestamp(self, in_ts: int) -> int:
        return self._rebaser.outbound_timestamp(in_ts)


def python_deliver(legs: tuple[Any, ...], producer: Any, packet: ForwardedPacket) -> None:
    """``forward`` on every leg, in order."""
    for leg in legs:
        leg.forward(producer, packet)


class Implementation(NamedTuple):
    name: str  # "native" or "python"
    leg: Callable[[int, int, int, Send, Resolve | None, OnSwitch], Leg]
    deliver: Callable[[tuple[Any, ...], Any, ForwardedPacket], None]


PYTHON = Implementation("python", PythonLeg, python_deliver)


SRTP_PROTECT_TYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"  # libsrtp 2's srtp_protect


def _srtp_binding_ok() -> bool:
    """pylibsrtp still exposes what the C leg calls, with libsrtp 2's signature (libsrtp 3 changed it)."""
    try:
        from pylibsrtp import Session, _binding

        if _binding.ffi.typeof(_binding.lib.srtp_protect).cname != SRTP_PROTECT_TYPE:
            return False
        srtp_pointers(Session())
        return True
    except (ImportError, AttributeError, TypeError):
        return False


def _load_native() -> Implementation | None:
    try:
        native = importlib.import_module("media._fanout")
    except ImportError:
        return None
    shared = {"HISTORY": HISTORY, "NACK_INTERVAL": NACK_INTERVAL, "NACK_MIN_INTERVAL": NACK_MIN_INTERVAL,
              "RETRANSMIT_RATE": RETRANSMIT_RATE, "RETRANSMIT_BURST": RETRANSMIT_BURST}
    if any(getattr(native, name, None) != value for name, value in shared.items()) or not _srtp_binding_ok():
        return None
    return Implementation("native", native.Leg, native.deliver)


def implementations() -> list[Implementation]:
    """The implementations available here (for tests that run both)."""
    return [PYTHON] if NATIVE is None else [NATIVE, PYTHON]


def implementation() -> Implementation:
    """The fan-out new consumers and feeds use."""
    return _active


def use(impl: Implementation) -> None:
    """Choose the fan-out for consumers and feeds created from now on (tests)."""
    global _active
    _active = impl


# --- route parts ------------------------------------------------------------------------------


def srtp_pointers(session: Any) -> tuple[int, int]:
    """(address of srtp_protect, the session's srtp_t) from pylibsrtp's cffi binding."""
    from pylibsrtp import _binding

    ffi, lib = _binding.ffi, _binding.lib
    fn = int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect")))
    ctx = int(ffi.cast("uintptr_t", session._srtp[0]))
    return fn, ctx


def socket_target(transport: Any, addr: Any) -> tuple[int, bytes]:
    """(fd, struct sockaddr) to write to ``addr`` on the transport's UDP socket, or (-1, b"")
    when the transport is not a plain unconnected UDP socket of the address's family (TURN...)."""
    sock = transport.get_extra_info("socket")
    if (sock is None or transport.get_extra_info("peername") is not None or not hasattr(transport, "is_closing")
            or transport.is_closing()):
        return -1, b""
    try:
        family, fd = sock.family, sock.fileno()
        host, port = addr[0], int(addr[1])
        if family == socket.AF_INET:
            packed = socket.inet_pton(socket.AF_INET, host)
            return fd, struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + packed + bytes(8)
        if family == socket.AF_INET6:
            info = socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)
            found: tuple[Any, ...] = tuple(info[0][4])
            flow, scope = int(found[2]), int(found[3])
            packed = socket.inet_pton(socket.AF_INET6, str(found[0]).split("%")[0])
            return fd, (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, flow) + packed
                        + struct.pack("=I", scope))
    except (OSError, ValueError, TypeError, IndexError):
        pass
    return -1, b""


NATIVE = _load_native()
"""the C fan-out, None when media._fanout is not built or pylibsrtp does not fit it"""

_active = PYTHON if NATIVE is None or os.environ.get(ENV, "").lower() == "python" else NATIVE
