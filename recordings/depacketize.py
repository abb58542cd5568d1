"""RTP payloads -> encoded frames, without decoding (pure: no I/O, no clock).

- VP8, RFC 7741: the payload descriptor (section 4.2) is stripped; the packets
  of one timestamp are assembled until the marker bit.
- H.264, RFC 6184 (packetization mode 1): single NAL unit packets, STAP-A and
  FU-A become an Annex B byte stream (start code before each NAL unit).
- Opus, RFC 7587: one packet is one frame.

Packets reordered by a few positions are put back in order (``REORDER_WINDOW``).
A frame larger than ``MAX_FRAME_BYTES`` (a publisher that never sets the marker nor
changes the timestamp) is dropped like a lost one instead of growing without bound.
A sequence gap that does not fill within the window drops the frame being
assembled and every video frame up to the next keyframe; ``needs_keyframe``
tells the caller to ask the publisher for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "MAX_FRAME_BYTES",
    "REORDER_WINDOW",
    "Depacketizer",
    "EncodedFrame",
    "H264Depacketizer",
    "OpusDepacketizer",
    "Vp8Depacketizer",
    "depacketizer_for",
    "vp8_descriptor_size",
]

REORDER_WINDOW = 4  # packets that may overtake a missing one before it counts as lost
START_CODE = b"\x00\x00\x00\x01"
MAX_FRAME_BYTES = 4 * 1024 * 1024  # far above any keyframe a classroom camera or screen sends


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    timestamp: int  # RTP timestamp of the frame's packets
    keyframe: bool
    data: bytes


class Depacketizer(Protocol):
    needs_keyframe: bool

    def push(self, seq: int, ts: int, marker: int, payload: bytes) -> list[EncodedFrame]: ...

    def restart(self) -> None:
        """The stream restarts (a new source): forget the open frame and waiting packets."""


def _seq_newer(a: int, b: int) -> bool:
    return a != b and ((a - b) & 0xFFFF) < 0x8000


class _Reorder:
    """Releases packets in sequence order; ``None`` in the output marks a gap."""

    def __init__(self, window: int = REORDER_WINDOW) -> None:
        self._window = window
        self._expected: int | None = None
        self._pending: dict[int, tuple[int, int, bytes]] = {}

    def push(self, seq: int, item: tuple[int, int, bytes]) -> list[tuple[int, int, bytes] | None]:
        if self._expected is None:
            self._expected = seq
        elif seq != self._expected and not _seq_newer(seq, self._expected):
            return []  # late (already given up on) or duplicate
        self._pending[seq] = item
        out: list[tuple[int, int, bytes] | None] = []
        self._release(out)
        while self._pending and len(self._pending) > self._window:
            out.append(None)
            self._expected = min(self._pending, key=lambda s: (s - self._expected) & 0xFFFF)  # type: ignore[operator]
            self._release(out)
        return out

    def _release(self, out: list[tuple[int, int, bytes] | None]) -> None:
        while self._expected in self._pending:
            out.append(self._pending.pop(self._expected))
            self._expected = (self._expected + 1) & 0xFFFF


class _Assembler:
    """Common frame assembly: packets of one timestamp until the marker, loss rule."""

    def __init__(self) -> None:
        self.needs_keyframe = True  # nothing decodable before the first keyframe
        self._reorder = _Reorder()
        self._ts: int | None = None
        self._parts: list[bytes] = []
        self._keyframe = False
        self._broken = False
        self._bytes = 0

    def push(self, seq: int, ts: int, marker: int, payload: bytes) -> list[EncodedFrame]:
        frames: list[EncodedFrame] = []
        for item in self._reorder.push(seq & 0xFFFF, (ts, marker, payload)):
            if item is None:
                self._lost()
            else:
                self._packet(*item, frames)
        return frames

    def restart(self) -> None:
        self._reorder = _Reorder()
        self._reset()

    def _reset(self) -> None:
        self._ts, self._parts, self._broken, self._bytes = None, [], False, 0

    def _lost(self) -> None:
        self._reset()
        self.needs_keyframe = True

    def _packet(self, ts: int, marker: int, payload: bytes, frames: list[EncodedFrame]) -> None:
        if self._ts is not None and ts != self._ts:
            self._finish(frames)  # the marker was not set, but no packet is missing
        if self._ts is None:
            if not self._starts_frame(payload):
                return
            self._reset()
            self._ts, self._keyframe = ts, self._is_keyframe(payload)
        self._bytes += len(payload)
        if not self._broken and (self._bytes > MAX_FRAME_BYTES or not self._add(payload)):
            self._broken, self._parts = True, []  # nothing of a broken frame is kept
        if marker:
            self._finish(frames)

    def _finish(self, frames: list[EncodedFrame]) -> None:
        if self._ts is not None and self._parts and not self._broken:
            if self._keyframe:
                self.needs_keyframe = False
            if not self.needs_keyframe:
                frames.append(EncodedFrame(self._ts, self._keyframe, b"".join(self._parts)))
        elif self._broken:
            self.needs_keyframe = True
        self._reset()

    # --- codec specifics ---------------------------------------------------------------

    def _starts_frame(self, payload: bytes) -> bool:
        raise NotImplementedError

    def _is_keyframe(self, payload: bytes) -> bool:
        raise NotImplementedError

    def _add(self, payload: bytes) -> bool:
        """Append the payload's share of the frame; False if the packet is malformed."""
        raise NotImplementedError


def vp8_descriptor_size(payload: bytes) -> int | None:
    """Length of the RFC 7741 payload descriptor, or None if the payload is too short."""
    if not payload:
        return None
    pos = 1
    if payload[0] & 0x80:  # X
        if len(payload) < 2:
            return None
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= pos:
                return None
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return pos if pos < len(payload) else None


class Vp8Depacketizer(_Assembler):
    def _starts_frame(self, payload: bytes) -> bool:
        return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x07 == 0  # S and PID 0

    def _is_keyframe(self, payload: bytes) -> bool:
        size = vp8_descriptor_size(payload)
        return size is not None and payload[size] & 0x01 == 0  # P bit of the frame tag

    def _add(self, payload: bytes) -> bool:
        size = vp8_descriptor_size(payload)
        if size is None:
            return False
        self._parts.append(payload[size:])
        return True


class H264Depacketizer(_Assembler):
    def __init__(self) -> None:
        super().__init__()
        self._fragment: bytearray | None = None

    def restart(self) -> None:
        super().restart()
        self._fragment = None

    def _lost(self) -> None:
        super()._lost()
        self._fragment = None

    def _starts_frame(self, payload: bytes) -> bool:
        if not payload:
            return False
        nal_type = payload[0] & 0x1F
        return nal_type != 28 or (len(payload) > 1 and payload[1] & 0x80 != 0)  # not an FU-A continuation

    def _is_keyframe(self, payload: bytes) -> bool:
        return False  # decided per NAL unit in _add (an IDR slice anywhere in the access unit)

    def _add(self, payload: bytes) -> bool:
        if not payload:
            return False
        nal_type = payload[0] & 0x1F
        if 1 <= nal_type <= 23:
            self._nal(payload)
            return True
        if nal_type == 24:
            return self._stap_a(payload)
        if nal_type == 28:
            return self._fu_a(payload)
        return False  # STAP-B, MTAP, FU-B: not used in packetization mode 1

    def _nal(self, nal: bytes) -> None:
        if nal and nal[0] & 0x1F == 5:
            self._keyframe = True
        self._parts.append(START_CODE + nal)

    def _stap_a(self, payload: bytes) -> bool:
        pos = 1
        while pos + 2 <= len(payload):
            size = int.from_bytes(payload[pos:pos + 2], "big")
            pos += 2
            if size == 0 or pos + size > len(payload):
                return False
            self._nal(payload[pos:pos + size])
            pos += size
        return pos == len(payload)

    def _fu_a(self, payload: bytes) -> bool:
        if len(payload) < 3:
            return False
        header = payload[1]
        if header & 0x80:  # start
            self._fragment = bytearray([(payload[0] & 0xE0) | (header & 0x1F)])
        elif self._fragment is None:
            return False
        self._fragment += payload[2:]
        if header & 0x40:  # end
            self._nal(bytes(self._fragment))
            self._fragment = None
        return True

    def _finish(self, frames: list[EncodedFrame]) -> None:
        if self._fragment is not None:
            self._broken = True  # an FU-A never ended
            self._fragment = None
        super()._finish(frames)


class OpusDepacketizer:
    """One packet, one frame; reordering within the window is undone, losses are skipped."""

    needs_keyframe = False

    def __init__(self) -> None:
        self._reorder = _Reorder()

    def restart(self) -> None:
        self._reorder = _Reorder()

    def push(self, seq: int, ts: int, marker: int, payload: bytes) -> list[EncodedFrame]:
        return [EncodedFrame(item[0], True, item[2])
                for item in self._reorder.push(seq & 0xFFFF, (ts, marker, payload)) if item is not None and item[2]]


_BY_MIME: dict[str, type[Vp8Depacketizer] | type[H264Depacketizer] | type[OpusDepacketizer]] = {
    "video/vp8": Vp8Depacketizer,
    "video/h264": H264Depacketizer,
    "audio/opus": OpusDepacketizer,
}


def depacketizer_for(mime_type: str) -> Depacketizer | None:
    """A fresh depacketizer for ``mime_type``, or None if the codec cannot be recorded."""
    cls = _BY_MIME.get(mime_type.lower())
    return cls() if cls is not None else None
