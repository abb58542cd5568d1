"""Codec facts the relay needs without decoding: which packet starts a keyframe.

VP8 payload descriptor: RFC 7741 section 4.2; H.264 NAL units: RFC 6184.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["KEYFRAME_DETECTORS", "h264_starts_keyframe", "is_keyframe_start", "vp8_starts_keyframe"]


def vp8_starts_keyframe(payload: bytes) -> bool:
    """True when this VP8 RTP payload is the first packet of a key frame."""
    if len(payload) < 1:
        return False
    desc = payload[0]
    start, pid = desc & 0x10, desc & 0x07
    if not start or pid != 0:
        return False
    pos = 1
    if desc & 0x80:  # X: extended control bits present
        if len(payload) < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id
            if len(payload) <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/KEYIDX byte
            pos += 1
    if len(payload) <= pos:
        return False
    return (payload[pos] & 0x01) == 0  # P bit of the VP8 frame header: 0 = key frame


_H264_KEY_NALS = frozenset({5, 7})  # IDR slice, sequence parameter set


def h264_starts_keyframe(payload: bytes) -> bool:
    """True when this H.264 RTP payload carries the start of an IDR access unit."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in _H264_KEY_NALS:
        return True
    if nal_type == 24:  # STAP-A: aggregated NAL units
        pos = 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos:pos + 2], "big")
            if (payload[pos + 2] & 0x1F) in _H264_KEY_NALS:
                return True
            pos += 2 + size
        return False
    if nal_type == 28 and len(payload) > 1:  # FU-A: start bit and inner type
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in _H264_KEY_NALS
    return False


KEYFRAME_DETECTORS: dict[str, Callable[[bytes], bool]] = {
    "video/vp8": vp8_starts_keyframe,
    "video/h264": h264_starts_keyframe,
}


def is_keyframe_start(mime_type: str, payload: bytes) -> bool:
    """Keyframe detection by MIME type; audio packets always count as a start."""
    detector = KEYFRAME_DETECTORS.get(mime_type.lower())
    if detector is None:
        return not mime_type.lower().startswith("video/")
    return detector(payload)
