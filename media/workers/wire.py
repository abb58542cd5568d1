"""The formats between the main process and a media worker (pure: no sockets here).

Two channels per worker (see media/workers/WORKERS.md):

- the *pipe* (a unix datagram socketpair, main -> worker): one datagram per producer
  packet per worker, whatever the number of its subscribers there: a ``SOURCE`` record
  when a feed's producer changes, then ``PACKET`` records (header + payload);
- the *control* channel (a unix seqpacket socketpair, both ways): small tuples encoded
  with ``marshal`` (only ints, floats, bytes, str, tuples and lists travel), and the
  subscriber's UDP socket passed with ``SCM_RIGHTS`` when a consumer moves in.
"""

from __future__ import annotations

import marshal
import struct
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KEYFRAME",
    "MARKER",
    "PACKET",
    "SOURCE",
    "OutboundSpec",
    "RebaseState",
    "decode",
    "encode",
    "pack_packet",
    "pack_source",
    "unpack_source",
]

PACKET_TAG = 0x50  # "P"
SOURCE_TAG = 0x53  # "S"
PACKET = struct.Struct("!BIHIBd")
"""tag, pipe id, sequence number, timestamp, flags, arrival (time.monotonic(): one clock per host)"""
SOURCE = struct.Struct("!BIII")
"""tag, pipe id, source number (grows when the feed's producer changes), clock rate; then the mime type"""
MARKER = 0x01
KEYFRAME = 0x02
CONTROL_MAX = 1 << 16
"""the largest control message; stats are split to stay under it"""


def pack_packet(pipe: int, seq: int, ts: int, marker: int, keyframe: bool, arrival: float, payload: bytes) -> bytes:
    flags = (MARKER if marker else 0) | (KEYFRAME if keyframe else 0)
    return PACKET.pack(PACKET_TAG, pipe, seq, ts, flags, arrival) + payload


def pack_source(pipe: int, source: int, clock_rate: int, mime_type: str) -> bytes:
    return SOURCE.pack(SOURCE_TAG, pipe, source, clock_rate) + mime_type.encode()


def unpack_source(data: bytes) -> tuple[int, int, int, str]:
    _, pipe, source, clock_rate = SOURCE.unpack_from(data)
    return pipe, source, clock_rate, data[SOURCE.size:].decode()


@dataclass(frozen=True, slots=True)
class OutboundSpec:
    """A consumer's negotiated outbound stream."""

    mime_type: str
    clock_rate: int
    payload_type: int
    ssrc: int
    extensions: bytes
    """the encoded one-byte header extension block (``media.rtp.one_byte_extensions``)"""

    def to_wire(self) -> tuple[str, int, int, int, bytes]:
        return (self.mime_type, self.clock_rate, self.payload_type, self.ssrc, self.extensions)

    @classmethod
    def from_wire(cls, value: Any) -> OutboundSpec:
        mime, clock, pt, ssrc, ext = value
        return cls(str(mime), int(clock), int(pt), int(ssrc), bytes(ext))


@dataclass(frozen=True, slots=True)
class RebaseState:
    """Where an outbound stream stands: the next packet continues from here."""

    last_seq: int
    last_ts: int
    last_time: float | None
    started: bool

    def to_wire(self) -> tuple[int, int, float, bool]:
        return (self.last_seq, self.last_ts, -1.0 if self.last_time is None else self.last_time, self.started)

    @classmethod
    def from_wire(cls, value: Any) -> RebaseState:
        seq, ts, when, started = value
        return cls(int(seq), int(ts), None if when < 0 else float(when), bool(started))


def encode(message: tuple[Any, ...]) -> bytes:
    return marshal.dumps(message)


def decode(data: bytes) -> tuple[Any, ...]:
    value = marshal.loads(data)
    if not isinstance(value, tuple) or not value or not isinstance(value[0], str):
        raise ValueError("not a control message")
    return value
