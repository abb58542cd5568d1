"""The data plane of one media worker: pipes in, consumers out (pure: sending is injected).

A ``Pipe`` is one feed piped into this worker; an ``OutboundStream`` is one consumer's
outbound copy. Its per-packet work (keyframe gating, rebasing onto one continuous
stream, header rewrite, protection and sending, a NACK history, counters) is a
``media.fanout`` leg, as in-process, and each pipe datagram reaches all the legs of
its pipe in one ``deliver`` call: the C fan-out when it is built, its Python twin
otherwise. A leg sends through the ``send`` callable it is given (SRTP with the
consumer's key, then ``sendto`` on the subscriber's UDP socket) or, for the C leg,
through the ``resolve`` route (the same session and socket, without Python per packet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import fanout
from ..rtp import ForwardedPacket
from .wire import KEYFRAME, MARKER, PACKET, OutboundSpec, RebaseState, unpack_source

__all__ = ["DataPlane", "OutboundStream", "Pipe", "Source"]

HISTORY = fanout.HISTORY
KEYFRAME_ASK_INTERVAL = 0.05  # a consumer waiting for a keyframe asks main at most this often

Send = Callable[[bytes], bool]


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """One producer of a pipe's feed, as the legs see it: an identity (a new one on each ``S`` record)."""

    number: int = 0
    clock_rate: int = 90000
    mime_type: str = ""


@dataclass(slots=True)
class Pipe:
    id: int
    source: Source = field(default_factory=Source)
    streams: list[OutboundStream] = field(default_factory=list)
    legs: tuple[fanout.Leg, ...] = ()

    def retarget(self) -> None:
        self.legs = tuple(s.leg for s in self.streams)


class OutboundStream:
    """One consumer served by this worker."""

    def __init__(self, cid: int, spec: OutboundSpec, start: RebaseState, send: Send, wanted: set[int],
                 resolve: fanout.Resolve | None = None, dropped: Callable[[], int] = lambda: 0) -> None:
        self.cid = cid
        self._dropped = dropped
        self.pipe: Pipe | None = None
        self._wanted = wanted
        self._asked_at = 0.0
        self.spec = spec
        self.leg: fanout.Leg = fanout.implementation().leg(spec.clock_rate, (start.last_seq + 1) & 0xFFFF,
                                                           start.last_ts, send, resolve, self._accepts)
        self.set_spec(spec, start)

    # --- counters (kept by the leg) -------------------------------------------------------

    @property
    def packets(self) -> int:
        return self.leg.packets

    @property
    def octets(self) -> int:
        return self.leg.octets

    @property
    def retransmitted(self) -> int:
        return self.leg.retransmitted

    @property
    def send_failures(self) -> int:
        """packets the leg could not send, and those the socket refused after the C leg handed them over"""
        return self.leg.send_failures + self._dropped()

    @property
    def paused(self) -> bool:
        return self.leg.paused

    # --- commands --------------------------------------------------------------------------

    def state(self) -> RebaseState:
        leg = self.leg
        return RebaseState(leg.last_seq, leg.last_ts, leg.last_time, leg.started)

    def set_spec(self, spec: OutboundSpec, start: RebaseState) -> None:
        self.spec = spec
        self.leg.set_header(spec.payload_type, spec.ssrc, spec.extensions)
        self.leg.resume(spec.clock_rate, start.last_seq, start.last_ts, start.last_time, start.started)

    def follow(self, pipe: Pipe | None) -> None:
        self.pipe = pipe
        self.leg.source = None

    def set_paused(self, paused: bool) -> None:
        self.leg.paused = paused
        self.leg.source = None

    def forward(self, source: Source, packet: ForwardedPacket) -> None:
        self.leg.forward(source, packet)

    def retransmit(self, sequence_numbers: list[int]) -> None:
        self.leg.retransmit(sequence_numbers)

    def close(self) -> None:
        self.leg.clear_header()

    def snapshot(self) -> tuple[int | float, ...]:
        """(cid, packets, octets, retransmitted, send failures, source, ts offset, last seq, last ts, last time)"""
        leg = self.leg
        source = leg.source
        number = source.number if isinstance(source, Source) else -1
        last_time = leg.last_time
        return (self.cid, leg.packets, leg.octets, leg.retransmitted, self.send_failures, number,
                leg.outbound_timestamp(0), leg.last_seq, leg.last_ts, -1.0 if last_time is None else last_time)

    def _accepts(self, source: Any, packet: ForwardedPacket) -> bool:
        """A packet of a source the leg does not follow yet: rebase on a keyframe of the right codec."""
        if not isinstance(source, Source) or source.mime_type != self.spec.mime_type:
            return False
        if not packet.keyframe:
            self._ask_keyframe(packet.arrival)
            return False
        return True

    def _ask_keyframe(self, now: float) -> None:
        if now - self._asked_at >= KEYFRAME_ASK_INTERVAL:
            self._asked_at = now
            self._wanted.add(self.cid)


class DataPlane:
    """Every pipe and outbound stream of one worker."""

    def __init__(self) -> None:
        self.pipes: dict[int, Pipe] = {}
        self.streams: dict[int, OutboundStream] = {}
        self.wanted: set[int] = set()
        """consumers waiting for a keyframe that asked since the last ``keyframe_wanted``"""
        self.dropped = 0
        """pipe records for a pipe this worker does not know (dropped since, or malformed)"""
        self._deliver = fanout.implementation().deliver

    def receive(self, data: bytes) -> None:
        """One datagram of the pipe."""
        if data[:1] == b"P":
            _, pipe_id, seq, ts, flags, arrival = PACKET.unpack_from(data)
            pipe = self.pipes.get(pipe_id)
            if pipe is None:
                self.dropped += 1
                return
            if pipe.legs:
                packet = ForwardedPacket(seq, ts, flags & MARKER, data[PACKET.size:], bool(flags & KEYFRAME), arrival)
                self._deliver(pipe.legs, pipe.source, packet)
        elif data[:1] == b"S":
            pipe_id, number, clock_rate, mime = unpack_source(data)
            pipe = self.pipes.setdefault(pipe_id, Pipe(pipe_id))
            pipe.source = Source(number, clock_rate, mime)
        else:
            self.dropped += 1

    def add(self, stream: OutboundStream) -> None:
        self.remove(stream.cid)
        self.streams[stream.cid] = stream

    def remove(self, cid: int) -> OutboundStream | None:
        stream = self.streams.pop(cid, None)
        if stream is not None:
            self.follow(stream, None)
            stream.close()
        return stream

    def bind(self, cid: int, pipe_id: int | None) -> None:
        stream = self.streams.get(cid)
        if stream is not None:
            pipe = None if pipe_id is None else self.pipes.setdefault(pipe_id, Pipe(pipe_id))
            self.follow(stream, pipe)

    def follow(self, stream: OutboundStream, pipe: Pipe | None) -> None:
        old = stream.pipe
        if old is not None and stream in old.streams:
            old.streams.remove(stream)
            old.retarget()
        stream.follow(pipe)
        if pipe is not None:
            pipe.streams.append(stream)
            pipe.retarget()

    def drop_pipe(self, pipe_id: int) -> None:
        pipe = self.pipes.pop(pipe_id, None)
        for stream in list(pipe.streams if pipe is not None else ()):
            stream.follow(None)

    def keyframe_wanted(self) -> list[int]:
        """Consumers that wait for a keyframe and have not asked lately (and forget them)."""
        wanted = [cid for cid in self.wanted if cid in self.streams]
        self.wanted.clear()
        return wanted

    def snapshots(self) -> list[tuple[int | float, ...]]:
        return [s.snapshot() for s in self.streams.values()]
