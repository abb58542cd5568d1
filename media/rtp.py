"""Pure RTP helpers for the forwarding path: header building and stream rebasing.

Nothing here touches a socket. A forwarded packet keeps its payload; only the
header (SSRC, sequence number, timestamp, payload type, extensions) is written
anew for each consumer (RFC 3550 section 5.1, RFC 8285 one-byte extensions).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "ForwardedPacket",
    "HeaderWriter",
    "StreamRebaser",
    "one_byte_extensions",
    "seq_newer",
]

_FIXED = struct.Struct("!BBHII")
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


@dataclass(slots=True)
class ForwardedPacket:
    """One inbound RTP packet as the relay sees it (header fields + payload)."""

    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes
    keyframe: bool
    arrival: float


def seq_newer(a: int, b: int) -> bool:
    """True when 16-bit sequence number ``a`` comes after ``b`` (RFC 1982)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def one_byte_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """Encode RFC 8285 one-byte header extensions, padded to 32 bits."""
    if not elements:
        return b""
    body = b"".join(bytes([(ext_id << 4) | (len(data) - 1)]) + data for ext_id, data in elements)
    body += b"\x00" * (-len(body) % 4)
    return b"\xbe\xde" + struct.pack("!H", len(body) // 4) + body


class HeaderWriter:
    """Writes the RTP header of one outbound stream.

    The constant parts (version, extension flag, payload type, SSRC and the
    extension block) are computed once; per packet only marker, sequence
    number and timestamp change.
    """

    __slots__ = ("_b0", "_pt", "_ssrc", "_ext")

    def __init__(self, payload_type: int, ssrc: int, extensions: bytes = b"") -> None:
        self._b0 = 0x90 if extensions else 0x80
        self._pt = payload_type & 0x7F
        self._ssrc = ssrc
        self._ext = extensions

    def packet(self, marker: int, seq: int, ts: int, payload: bytes) -> bytes:
        head = _FIXED.pack(self._b0, self._pt | (0x80 if marker else 0), seq, ts, self._ssrc)
        return head + self._ext + payload


class StreamRebaser:
    """Maps inbound sequence numbers and timestamps onto one continuous outbound stream.

    The outbound stream must stay continuous when its source changes (a teacher
    reloads her page and publishes a new stream with new bases): on the first
    packet of a new source the offsets are chosen so that the sequence number
    follows the last one sent and the timestamp advances by the wall-clock gap.
    """

    __slots__ = ("_clock_rate", "_seq_off", "_ts_off", "_source", "_first_out",
                 "last_seq", "last_ts", "last_time", "started")

    def __init__(self, clock_rate: int, initial_seq: int, initial_ts: int) -> None:
        self._clock_rate = clock_rate
        self._seq_off = 0
        self._ts_off = 0
        self._source: object = None
        self._first_out = initial_seq
        self.last_seq = (initial_seq - 1) % _SEQ_MOD
        self.last_ts = initial_ts
        self.last_time: float | None = None
        self.started = False

    @property
    def source(self) -> object:
        return self._source

    def rebase(self, source: object, seq: int, ts: int, now: float) -> None:
        """Start mapping ``source`` so that (seq, ts) follows what was sent last."""
        gap = 1
        if self.last_time is not None:
            gap = max(1, int((now - self.last_time) * self._clock_rate))
        out_seq = (self.last_seq + 1) % _SEQ_MOD
        self._seq_off = (out_seq - seq) % _SEQ_MOD
        self._ts_off = (self.last_ts + gap - ts) % _TS_MOD if self.started else (self.last_ts - ts) % _TS_MOD
        self._first_out = out_seq
        self._source = source
        self.started = True

    def map(self, seq: int, ts: int) -> tuple[int, int] | None:
        """Outbound (seq, ts) for an inbound packet, or None if it predates the rebase."""
        out_seq = (seq + self._seq_off) % _SEQ_MOD
        if out_seq != self._first_out and seq_newer(self._first_out, out_seq):
            return None
        return out_seq, (ts + self._ts_off) % _TS_MOD

    def sent(self, out_seq: int, out_ts: int, now: float) -> None:
        """Record a packet as sent (keeps the highest sequence number)."""
        if seq_newer(out_seq, self.last_seq):
            self.last_seq = out_seq
            self.last_ts = out_ts
        self.last_time = now

    def inbound_timestamp(self, out_ts: int) -> int:
        """The inbound timestamp that maps to ``out_ts`` under the current offsets."""
        return (out_ts - self._ts_off) % _TS_MOD

    def outbound_timestamp(self, in_ts: int) -> int:
        return (in_ts + self._ts_off) % _TS_MOD
