"""The data plane of one media worker: pipes in, consumers out (pure: ``send`` is injected).

A ``Pipe`` is one feed piped into this worker; an ``OutboundStream`` is one consumer's
outbound copy, doing here what ``media.consumer.Consumer.forward`` does in-process:
keyframe gating, rebasing onto one continuous stream, header rewrite, a NACK history,
and counters. Protecting and writing the packet is the ``send`` callable it is given
(SRTP with the consumer's key, then ``sendto`` on the subscriber's UDP socket).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..rtp import HeaderWriter, StreamRebaser
from .wire import KEYFRAME, MARKER, PACKET, OutboundSpec, RebaseState, unpack_source

__all__ = ["DataPlane", "OutboundStream", "Pipe"]

HISTORY = 1024  # as media.consumer.HISTORY
KEYFRAME_ASK_INTERVAL = 0.05  # a consumer waiting for a keyframe asks main at most this often

Send = Callable[[bytes], bool]


@dataclass(slots=True)
class Pipe:
    id: int
    source: int = 0
    clock_rate: int = 90000
    mime_type: str = ""
    streams: list[OutboundStream] = field(default_factory=list)


class OutboundStream:
    """One consumer served by this worker."""

    def __init__(self, cid: int, spec: OutboundSpec, start: RebaseState, send: Send, wanted: set[int]) -> None:
        self.cid = cid
        self.send = send
        self.paused = False
        self.pipe: Pipe | None = None
        self.packets = self.octets = self.retransmitted = self.send_failures = 0
        self._wanted = wanted
        self._asked_at = 0.0
        self._source: tuple[int, int] | None = None
        self._sent_seq: list[int] = [-1] * HISTORY
        self._sent: list[tuple[int, int, bytes] | None] = [None] * HISTORY  # (marker, ts, payload)
        self.set_spec(spec, start)

    def set_spec(self, spec: OutboundSpec, start: RebaseState) -> None:
        self.spec = spec
        self._writer = HeaderWriter(spec.payload_type, spec.ssrc, spec.extensions)
        self.rebaser = StreamRebaser(spec.clock_rate, (start.last_seq + 1) & 0xFFFF, start.last_ts)
        self.rebaser.last_time = start.last_time
        self.rebaser.started = start.started
        self._source = None

    def follow(self, pipe: Pipe | None) -> None:
        self.pipe = pipe
        self._source = None

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._source = None

    def forward(self, pipe: Pipe, seq: int, ts: int, flags: int, arrival: float, payload: bytes) -> None:
        if self.paused:
            return
        rebaser = self.rebaser
        if self._source is None or self._source[1] != pipe.source:
            if pipe.mime_type != self.spec.mime_type:
                return
            if not flags & KEYFRAME:
                self._ask_keyframe(arrival)
                return
            self._source = (pipe.id, pipe.source)
            rebaser.rebase(self._source, seq, ts, arrival)
        mapped = rebaser.map(seq, ts)
        if mapped is None:
            return
        out_seq, out_ts = mapped
        marker = flags & MARKER
        if self.send(self._writer.packet(marker, out_seq, out_ts, payload)):
            slot = out_seq % HISTORY
            self._sent_seq[slot] = out_seq
            self._sent[slot] = (marker, out_ts, payload)
            rebaser.sent(out_seq, out_ts, arrival)
            self.packets += 1
            self.octets += len(payload)
        else:
            self.send_failures += 1

    def retransmit(self, sequence_numbers: list[int]) -> None:
        for seq in sequence_numbers:
            slot = seq % HISTORY
            sent = self._sent[slot]
            if sent is None or self._sent_seq[slot] != seq:
                continue
            marker, ts, payload = sent
            if self.send(self._writer.packet(marker, seq, ts, payload)):
                self.retransmitted += 1
            else:
                self.send_failures += 1

    def snapshot(self) -> tuple[int | float, ...]:
        """(cid, packets, octets, retransmitted, send failures, source, ts offset, last seq, last ts, last time)"""
        r = self.rebaser
        source = self._source[1] if self._source is not None else -1
        return (self.cid, self.packets, self.octets, self.retransmitted, self.send_failures, source,
                r.outbound_timestamp(0), r.last_seq, r.last_ts, -1.0 if r.last_time is None else r.last_time)

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

    def receive(self, data: bytes) -> None:
        """One datagram of the pipe."""
        if data[:1] == b"P":
            _, pipe_id, seq, ts, flags, arrival = PACKET.unpack_from(data)
            pipe = self.pipes.get(pipe_id)
            if pipe is None:
                self.dropped += 1
                return
            payload = data[PACKET.size:]
            for stream in pipe.streams:
                stream.forward(pipe, seq, ts, flags, arrival, payload)
        elif data[:1] == b"S":
            pipe_id, source, clock_rate, mime = unpack_source(data)
            pipe = self.pipes.setdefault(pipe_id, Pipe(pipe_id))
            pipe.source, pipe.clock_rate, pipe.mime_type = source, clock_rate, mime
        else:
            self.dropped += 1

    def add(self, stream: OutboundStream) -> None:
        self.remove(stream.cid)
        self.streams[stream.cid] = stream

    def remove(self, cid: int) -> OutboundStream | None:
        stream = self.streams.pop(cid, None)
        if stream is not None:
            self.follow(stream, None)
        return stream

    def bind(self, cid: int, pipe_id: int | None) -> None:
        stream = self.streams.get(cid)
        if stream is not None:
            pipe = None if pipe_id is None else self.pipes.setdefault(pipe_id, Pipe(pipe_id))
            self.follow(stream, pipe)

    def follow(self, stream: OutboundStream, pipe: Pipe | None) -> None:
        if stream.pipe is not None and stream in stream.pipe.streams:
            stream.pipe.streams.remove(stream)
        stream.follow(pipe)
        if pipe is not None:
            pipe.streams.append(stream)

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
