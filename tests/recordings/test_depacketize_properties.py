"""Property tests for RTP payloads from a publisher reaching the recorder: whatever arrives, the
depacketizers and the bitstream readers never raise, keep bounded state, and give real streams back."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recordings.bitstream import MAX_DIMENSION, h264_dimensions, picture_size, vp8_dimensions
from recordings.depacketize import (
    MAX_FRAME_BYTES,
    REORDER_WINDOW,
    H264Depacketizer,
    OpusDepacketizer,
    Vp8Depacketizer,
    depacketizer_for,
)
from tests.recordings.encoded import Frames, Packet, encode_h264, encode_vp8, packetize_h264, packetize_vp8, rtp
from tests.recordings.test_depacketize import nal_units, run

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MIMES = ["video/vp8", "video/h264", "audio/opus"]

payloads = st.binary(max_size=1500)
packets = st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 1), payloads),
                   max_size=60)


def nearby(seq: int) -> st.SearchStrategy[int]:
    return st.integers(seq - 8, seq + 8).map(lambda s: s & 0xFFFF)


stream = st.integers(0, 0xFFFF).flatmap(lambda first: st.lists(
    st.tuples(nearby(first), st.sampled_from([0, 3000, 6000]), st.integers(0, 1), payloads), max_size=60))
"""Sequence numbers close together, few timestamps: packets that actually assemble into frames."""


@BOUNDED
@given(mime=st.sampled_from(MIMES), arrivals=st.one_of(packets, stream))
def test_any_payloads_never_raise_and_give_at_most_what_came_in(mime: str, arrivals: list[Packet]) -> None:
    depacketizer = depacketizer_for(mime)
    assert depacketizer is not None

    frames = [frame for seq, ts, marker, data in arrivals for frame in depacketizer.push(seq, ts, marker, data)]

    received = sum(len(p[3]) for p in arrivals)
    assert sum(len(f.data) for f in frames) <= 5 * received  # an H.264 NAL unit gains a 4-byte start code
    assert all(isinstance(f.data, bytes) and 0 <= f.timestamp <= 0xFFFFFFFF for f in frames)


@BOUNDED
@given(mime=st.sampled_from(MIMES), arrivals=st.one_of(packets, stream))
def test_waiting_packets_stay_within_the_reorder_window(mime: str, arrivals: list[Packet]) -> None:
    depacketizer = depacketizer_for(mime)
    assert depacketizer is not None
    for seq, ts, marker, data in arrivals:
        depacketizer.push(seq, ts, marker, data)
        assert len(depacketizer._reorder._pending) <= REORDER_WINDOW  # type: ignore[attr-defined]


@pytest.mark.parametrize("depacketizer", [Vp8Depacketizer(), H264Depacketizer()], ids=["vp8", "h264"])
def test_a_frame_that_never_ends_is_dropped_instead_of_growing_without_bound(
        depacketizer: Vp8Depacketizer | H264Depacketizer) -> None:
    start = b"\x10\x00" + b"\x00" * 1198 if isinstance(depacketizer, Vp8Depacketizer) else b"\x7c\x85" + bytes(1198)
    middle = b"\x00" * 1200 if isinstance(depacketizer, Vp8Depacketizer) else b"\x7c\x05" + bytes(1198)
    count = MAX_FRAME_BYTES // 1200 + 10
    depacketizer.push(0, 90000, 0, start)
    for seq in range(1, count):
        depacketizer.push(seq, 90000, 0, middle)  # same timestamp, never a marker

    held = sum(len(p) for p in depacketizer._parts) + len(getattr(depacketizer, "_fragment", None) or b"")
    assert held <= MAX_FRAME_BYTES
    assert depacketizer.push(count, 90000, 1, middle) == []  # its marker: the oversized frame is not emitted
    assert depacketizer.needs_keyframe


# --- real streams round-trip whatever the reordering within the window -----------------------


_ENCODED: dict[str, Frames] = {}


def encoded(codec: str) -> Frames:
    if codec not in _ENCODED:
        _ENCODED[codec] = encode_vp8() if codec == "vp8" else encode_h264()
    return _ENCODED[codec]


def reordered(items: list[Packet], seed: int) -> list[Packet]:
    """Each packet overtaken by at most REORDER_WINDOW - 1 others: nothing counts as lost. The first
    packet stays first: it is where the stream starts (a packet from before it is a late one)."""
    rng = random.Random(seed)
    keyed = [(i + rng.uniform(0, REORDER_WINDOW - 1) if i else -1.0, item) for i, item in enumerate(items)]
    return [item for _, item in sorted(keyed, key=lambda pair: pair[0])]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_vp8_reordered_within_the_window_comes_back_byte_for_byte(seed: int) -> None:
    frames = encoded("vp8")
    sent = rtp([packetize_vp8(data, i) for i, (data, _) in enumerate(frames)])

    received = run(Vp8Depacketizer(), reordered(sent, seed))

    assert [(f.data, f.keyframe) for f in received] == frames


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_h264_reordered_within_the_window_comes_back_as_the_same_nal_units(seed: int) -> None:
    frames = encoded("h264")
    sent = rtp([packetize_h264(data) for data, _ in frames])

    received = run(H264Depacketizer(), reordered(sent, seed))

    assert [nal_units(f.data) for f in received] == [nal_units(data) for data, _ in frames]
    assert [f.keyframe for f in received] == [key for _, key in frames]


@settings(max_examples=25, deadline=None)
@given(payload_list=st.lists(st.binary(min_size=1, max_size=200), max_size=30), seed=st.integers(0, 2**32 - 1))
def test_opus_reordered_within_the_window_comes_back_in_order(payload_list: list[bytes], seed: int) -> None:
    sent = rtp([[p] for p in payload_list], step=960)

    received = run(OpusDepacketizer(), reordered(sent, seed))

    assert [f.data for f in received] == payload_list


# --- picture sizes from keyframes -----------------------------------------------------------------


@BOUNDED
@given(data=st.binary(max_size=96), prefix=st.sampled_from([b"", b"\x00\x00\x00\x01\x67", b"\x00\x00\x01\x27"]))
def test_picture_size_of_any_bytes_is_none_or_a_plausible_size(data: bytes, prefix: bytes) -> None:
    for codec in ("vp8", "h264", "opus"):
        size = picture_size(codec, prefix + data)
        assert size is None or all(0 < side <= MAX_DIMENSION for side in size), size


def test_an_sps_whose_cropping_exceeds_the_picture_has_no_size() -> None:
    # found by the property above: crop offsets larger than the picture gave a negative width
    assert h264_dimensions(b"\x00\x00\x00\x01\x67" + b"\xd5\xcdV\xbd\xea\xb1s\xf1") is None
    assert h264_dimensions(b"\x00\x00\x00\x01\x67" + b"\xafYN\xee\xfcIk") is None


@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_real_keyframes_give_their_encoded_size(codec: str) -> None:
    data, key = encoded(codec)[0]
    assert key
    assert picture_size(codec, data) == (320, 240)
    if codec == "vp8":
        assert vp8_dimensions(data) == (320, 240)
