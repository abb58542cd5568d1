"""media.codecs: keyframe detection from RTP payloads, without decoding."""

from __future__ import annotations

import fractions

import numpy as np
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from av import VideoFrame

from media.codecs import h264_starts_keyframe, is_keyframe_start, vp8_starts_keyframe

KEY_HEADER = bytes([0x50, 0x2F, 0x00, 0x9D, 0x01, 0x2A])  # VP8 frame tag with P=0, then the start code
DELTA_HEADER = bytes([0xB1, 0x0A, 0x00])  # P=1


def _frames(count: int, width: int = 320, height: int = 240) -> list[VideoFrame]:
    frames = []
    rng = np.random.default_rng(7)
    for i in range(count):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i * 3000, fractions.Fraction(1, 90000)
        frames.append(frame)
    return frames


# --- VP8 (RFC 7741) -------------------------------------------------------------------------


def test_vp8_minimal_descriptor_keyframe_start_is_detected() -> None:
    assert vp8_starts_keyframe(bytes([0x10]) + KEY_HEADER)


def test_vp8_delta_frame_is_not_a_keyframe() -> None:
    assert not vp8_starts_keyframe(bytes([0x10]) + DELTA_HEADER)


def test_vp8_continuation_packet_of_a_keyframe_is_not_a_start() -> None:
    assert not vp8_starts_keyframe(bytes([0x00]) + KEY_HEADER)  # S bit clear
    assert not vp8_starts_keyframe(bytes([0x11]) + KEY_HEADER)  # partition id 1


@pytest.mark.parametrize(("extension", "fields"), [
    (0x80, bytes([0x7F])),  # I, 7-bit picture id
    (0x80, bytes([0x80 | 0x12, 0x34])),  # I, 15-bit picture id
    (0xC0, bytes([0x92, 0x34, 0x05])),  # I (15-bit) + L (TL0PICIDX)
    (0xF0, bytes([0x92, 0x34, 0x05, 0x40])),  # I + L + T/K byte
    (0x20, bytes([0x40])),  # T only
])
def test_vp8_extended_descriptor_is_skipped_before_reading_the_frame_header(extension: int, fields: bytes) -> None:
    descriptor = bytes([0x90, extension]) + fields

    assert vp8_starts_keyframe(descriptor + KEY_HEADER)
    assert not vp8_starts_keyframe(descriptor + DELTA_HEADER)


@pytest.mark.parametrize("payload", [b"", b"\x10", b"\x90", b"\x90\x80", b"\x90\x80\x80\x01"])
def test_vp8_truncated_payloads_are_not_keyframes(payload: bytes) -> None:
    assert not vp8_starts_keyframe(payload)


def test_vp8_payloads_from_a_real_encoder_are_classified() -> None:
    encoder = Vp8Encoder()
    frames = _frames(2)
    key, _ = encoder.encode(frames[0], force_keyframe=True)
    delta, _ = encoder.encode(frames[1])

    assert len(key) > 1  # a noisy frame spans several packets
    assert vp8_starts_keyframe(key[0])
    assert not any(vp8_starts_keyframe(p) for p in key[1:])
    assert not any(vp8_starts_keyframe(p) for p in delta)


# --- H.264 (RFC 6184) -----------------------------------------------------------------------


def test_h264_single_idr_and_sps_nal_units_start_a_keyframe() -> None:
    assert h264_starts_keyframe(bytes([0x65, 0x88]))  # IDR slice
    assert h264_starts_keyframe(bytes([0x67, 0x42]))  # SPS


def test_h264_non_idr_slice_and_pps_are_not_keyframe_starts() -> None:
    assert not h264_starts_keyframe(bytes([0x41, 0x9A]))
    assert not h264_starts_keyframe(bytes([0x68, 0xCE]))
    assert not h264_starts_keyframe(b"")


def test_h264_stap_a_containing_sps_is_a_keyframe_start() -> None:
    sps, pps = bytes([0x67, 0x42, 0x00, 0x1F]), bytes([0x68, 0xCE, 0x3C])
    payload = bytes([0x78]) + len(sps).to_bytes(2, "big") + sps + len(pps).to_bytes(2, "big") + pps

    assert h264_starts_keyframe(payload)


def test_h264_stap_a_finds_an_idr_after_other_units() -> None:
    sei, idr = bytes([0x06, 0x05, 0x01]), bytes([0x65, 0x88])
    payload = bytes([0x78]) + len(sei).to_bytes(2, "big") + sei + len(idr).to_bytes(2, "big") + idr

    assert h264_starts_keyframe(payload)


def test_h264_stap_a_without_key_units_is_not_a_keyframe() -> None:
    a, b = bytes([0x41, 0x01]), bytes([0x06, 0x05])
    payload = bytes([0x78]) + len(a).to_bytes(2, "big") + a + len(b).to_bytes(2, "big") + b

    assert not h264_starts_keyframe(payload)


def test_h264_fu_a_start_of_an_idr_is_a_keyframe_start_but_not_its_continuation() -> None:
    assert h264_starts_keyframe(bytes([0x7C, 0x85, 0xAA]))  # FU-A, S=1, type 5
    assert not h264_starts_keyframe(bytes([0x7C, 0x05, 0xAA]))  # S=0
    assert not h264_starts_keyframe(bytes([0x7C, 0x45, 0xAA]))  # E=1 only
    assert not h264_starts_keyframe(bytes([0x7C, 0x81, 0xAA]))  # S=1, non-IDR slice
    assert not h264_starts_keyframe(bytes([0x7C]))


def test_h264_payloads_from_a_real_encoder_are_classified() -> None:
    encoder = H264Encoder()
    frames = _frames(2)
    key, _ = encoder.encode(frames[0], force_keyframe=True)
    delta, _ = encoder.encode(frames[1])

    assert h264_starts_keyframe(key[0])
    assert not any(h264_starts_keyframe(p) for p in delta)


# --- by MIME type ---------------------------------------------------------------------------


def test_detection_by_mime_type_is_case_insensitive_and_audio_always_starts() -> None:
    assert is_keyframe_start("video/VP8", bytes([0x10]) + KEY_HEADER)
    assert not is_keyframe_start("VIDEO/vp8", bytes([0x10]) + DELTA_HEADER)
    assert is_keyframe_start("video/H264", bytes([0x65]))
    assert is_keyframe_start("audio/opus", b"\x00")
    assert not is_keyframe_start("video/av1", b"\x00")
