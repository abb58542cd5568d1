"""RTP payloads back into encoded frames: VP8, H.264 and Opus, in order, reordered and with loss."""

from __future__ import annotations

import av
import pytest

from recordings.bitstream import h264_dimensions, vp8_dimensions
from recordings.depacketize import (
    EncodedFrame,
    H264Depacketizer,
    OpusDepacketizer,
    Vp8Depacketizer,
    depacketizer_for,
)
from tests.recordings.encoded import (
    Frames,
    Packet,
    encode_h264,
    encode_opus,
    encode_vp8,
    packetize_h264,
    packetize_vp8,
    rtp,
)


@pytest.fixture(scope="module")
def vp8() -> Frames:
    return encode_vp8()


@pytest.fixture(scope="module")
def h264() -> Frames:
    return encode_h264()


def vp8_packets(frames: Frames) -> list[Packet]:
    return rtp([packetize_vp8(data, i) for i, (data, _) in enumerate(frames)])


def single_nal_units(access_unit: bytes) -> list[bytes]:
    """Every NAL unit in a packet of its own (RFC 6184 section 5.6), as some senders do."""
    return nal_units(access_unit)


def h264_packets(frames: Frames) -> list[Packet]:
    """aiortc's packetizer (STAP-A, FU-A) for keyframes, single NAL unit packets for the others."""
    return rtp([packetize_h264(data) if key else single_nal_units(data) for data, key in frames])


def run(depacketizer: Vp8Depacketizer | H264Depacketizer | OpusDepacketizer, packets: list[Packet]
        ) -> list[EncodedFrame]:
    return [frame for seq, ts, marker, payload in packets for frame in depacketizer.push(seq, ts, marker, payload)]


def nal_units(annex_b: bytes) -> list[bytes]:
    return [nal.rstrip(b"\x00") for nal in annex_b.split(b"\x00\x00\x01") if nal.rstrip(b"\x00")]


def swap_neighbours(packets: list[Packet], positions: list[int]) -> list[Packet]:
    out = list(packets)
    for i in positions:
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


# --- VP8 -------------------------------------------------------------------------------------


def test_vp8_frames_come_back_byte_for_byte_with_their_timestamps_and_keyframe_flags(vp8: Frames) -> None:
    packets = vp8_packets(vp8)
    assert len(packets) > len(vp8) + 20  # keyframes span many packets

    frames = run(Vp8Depacketizer(), packets)

    assert [f.data for f in frames] == [data for data, _ in vp8]
    assert [f.keyframe for f in frames] == [key for _, key in vp8]
    assert len({f.timestamp for f in frames}) == len(vp8)
    assert vp8_dimensions(frames[0].data) == (320, 240)
    assert vp8_dimensions(frames[1].data) is None  # not a keyframe


def test_vp8_packets_reordered_by_one_are_put_back_in_order(vp8: Frames) -> None:
    packets = vp8_packets(vp8)
    reordered = swap_neighbours(packets, [3, 20, 56, 57 + 2])  # inside a keyframe, across frame boundaries

    frames = run(Vp8Depacketizer(), reordered)

    assert [f.data for f in frames] == [data for data, _ in vp8]


def test_vp8_loss_drops_the_frame_and_everything_until_the_next_keyframe(vp8: Frames) -> None:
    per_frame = [packetize_vp8(data, i) for i, (data, _) in enumerate(vp8)]
    packets = rtp(per_frame)
    frame5_start = sum(len(p) for p in per_frame[:5])
    assert len(per_frame[5]) > 2 and not vp8[5][1] and vp8[6][1]
    lossy = packets[:frame5_start + 1] + packets[frame5_start + 2:]  # one packet inside frame 5 is lost
    depacketizer = Vp8Depacketizer()

    frames = run(depacketizer, lossy[:frame5_start + 10])
    assert depacketizer.needs_keyframe  # the caller asks the publisher for one
    frames += run(depacketizer, lossy[frame5_start + 10:])

    assert [f.data for f in frames] == [data for data, _ in vp8[:5]] + [data for data, _ in vp8[6:]]
    assert not depacketizer.needs_keyframe


def test_vp8_waits_for_a_keyframe_when_it_joins_mid_stream(vp8: Frames) -> None:
    per_frame = [packetize_vp8(data, i) for i, (data, _) in enumerate(vp8)]
    packets = rtp(per_frame)[len(per_frame[0]):]  # starts with inter frames

    frames = run(Vp8Depacketizer(), packets)

    assert frames[0].keyframe
    assert [f.data for f in frames] == [data for data, _ in vp8[6:]]


def test_vp8_restart_forgets_a_frame_cut_short_by_a_source_change(vp8: Frames) -> None:
    per_frame = [packetize_vp8(data, i) for i, (data, _) in enumerate(vp8)]
    packets = rtp(per_frame)
    depacketizer = Vp8Depacketizer()
    frames = run(depacketizer, packets[:3])  # the old source stops inside its keyframe
    assert frames == []

    depacketizer.restart()
    fresh = [(seq, ts + 90_000, marker, payload) for seq, ts, marker, payload in packets[3:]]
    frames = run(depacketizer, fresh)

    assert frames[0].keyframe and frames[0].data == vp8[6][0]


# --- H.264 -----------------------------------------------------------------------------------


def test_h264_stap_a_fu_a_and_single_nal_packets_become_the_same_annex_b_access_units(h264: Frames) -> None:
    packets = h264_packets(h264)
    kinds = {payload[0] & 0x1F for _, _, _, payload in packets}
    assert {24, 28} <= kinds and kinds & set(range(1, 24))

    frames = run(H264Depacketizer(), packets)

    assert [nal_units(f.data) for f in frames] == [nal_units(data) for data, _ in h264]
    assert [f.keyframe for f in frames] == [key for _, key in h264]
    assert all(f.data.startswith(b"\x00\x00\x00\x01") for f in frames)
    assert h264_dimensions(frames[0].data) == (320, 240)
    decoder = av.CodecContext.create("h264", "r")
    decoded = [frame for f in frames for frame in decoder.decode(av.Packet(f.data))] + list(decoder.decode(None))
    assert len(decoded) == len(h264) and decoded[0].width == 320


def test_h264_packets_reordered_by_one_are_put_back_in_order(h264: Frames) -> None:
    packets = h264_packets(h264)
    reordered = swap_neighbours(packets, [1, 5, 50, 60])

    frames = run(H264Depacketizer(), reordered)

    assert [nal_units(f.data) for f in frames] == [nal_units(data) for data, _ in h264]


def test_h264_fu_a_loss_drops_the_access_unit_and_everything_until_the_next_idr(h264: Frames) -> None:
    per_frame = [packetize_h264(data) for data, _ in h264]
    packets = rtp(per_frame)  # aiortc's packetizer throughout: FU-A and STAP-A
    lost = len(per_frame[0]) + len(per_frame[1]) + len(per_frame[2]) + len(per_frame[3]) + 3  # inside frame 4
    assert len(per_frame[4]) > 4 and not h264[4][1] and h264[5][1]
    depacketizer = H264Depacketizer()

    frames = run(depacketizer, packets[:lost] + packets[lost + 1:])

    assert [nal_units(f.data) for f in frames] == [nal_units(data) for data, _ in h264[:4] + h264[5:]]


def test_h264_dimensions_apply_the_sps_cropping() -> None:
    frames = encode_h264(count=1, width=328, height=250)
    assert h264_dimensions(frames[0][0]) == (328, 250)


# --- Opus ------------------------------------------------------------------------------------


def test_opus_each_packet_is_a_frame_reordering_undone_and_a_loss_skipped() -> None:
    payloads = encode_opus(20)
    packets = rtp([[p] for p in payloads], step=960)
    reordered = swap_neighbours(packets, [2])
    lossy = reordered[:6] + reordered[7:]

    frames = run(OpusDepacketizer(), lossy)

    assert [f.data for f in frames] == payloads[:6] + payloads[7:]
    assert [f.timestamp for f in frames] == [p[1] for p in packets[:6] + packets[7:]]
    assert all(f.keyframe for f in frames)


def test_duplicates_and_late_packets_are_ignored() -> None:
    payloads = encode_opus(8)
    packets = rtp([[p] for p in payloads], step=960)
    stream = packets[:3] + [packets[1]] + packets[3:]

    frames = run(OpusDepacketizer(), stream)

    assert [f.data for f in frames] == payloads


def test_codecs_that_cannot_be_recorded_have_no_depacketizer() -> None:
    assert depacketizer_for("video/VP8") is not None
    assert depacketizer_for("audio/opus") is not None
    assert depacketizer_for("video/AV1") is None
