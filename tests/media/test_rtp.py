"""media.rtp: header writing, sequence arithmetic and stream rebasing (pure, no sockets)."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from hypothesis import given
from hypothesis import strategies as st

from media.aiortc_adapter import MID_URI
from media.rtp import HeaderWriter, StreamRebaser, one_byte_extensions, seq_newer

seqs = st.integers(0, 0xFFFF)
timestamps = st.integers(0, 0xFFFFFFFF)


def _mid_map(ext_id: int) -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=ext_id, uri=MID_URI)]))
    return extensions


# --- HeaderWriter ---------------------------------------------------------------------------


def test_written_header_parses_as_rtp_and_carries_the_mid_extension() -> None:
    writer = HeaderWriter(payload_type=96, ssrc=0xDEADBEEF, extensions=one_byte_extensions([(4, b"1")]))

    packet = RtpPacket.parse(writer.packet(1, 65535, 0xFFFFFFF0, b"payload"), _mid_map(4))

    assert packet.version == 2
    assert packet.payload_type == 96
    assert packet.marker == 1
    assert packet.sequence_number == 65535
    assert packet.timestamp == 0xFFFFFFF0
    assert packet.ssrc == 0xDEADBEEF
    assert packet.extensions.mid == "1"
    assert packet.payload == b"payload"


def test_written_header_without_extensions_has_no_extension_bit() -> None:
    data = HeaderWriter(payload_type=111, ssrc=7).packet(0, 3, 4, b"\x01\x02")

    assert data[0] & 0x10 == 0
    packet = RtpPacket.parse(data)
    assert (packet.payload_type, packet.marker, packet.sequence_number, packet.timestamp) == (111, 0, 3, 4)
    assert packet.payload == b"\x01\x02"


@given(pt=st.integers(0, 127), ssrc=timestamps, marker=st.integers(0, 1), seq=seqs, ts=timestamps,
       mid=st.text("0123456789abcdef", min_size=1, max_size=16), payload=st.binary(min_size=1, max_size=64))
def test_any_written_header_round_trips_through_the_aiortc_parser(
        pt: int, ssrc: int, marker: int, seq: int, ts: int, mid: str, payload: bytes) -> None:
    writer = HeaderWriter(pt, ssrc, one_byte_extensions([(9, mid.encode())]))

    packet = RtpPacket.parse(writer.packet(marker, seq, ts, payload), _mid_map(9))

    assert (packet.payload_type, packet.ssrc, packet.marker) == (pt, ssrc, marker)
    assert (packet.sequence_number, packet.timestamp, packet.payload) == (seq, ts, payload)
    assert packet.extensions.mid == mid


def test_one_byte_extensions_are_padded_to_32_bits() -> None:
    block = one_byte_extensions([(1, b"abc"), (2, b"x")])

    assert block[:2] == b"\xbe\xde"
    assert len(block) % 4 == 0
    assert one_byte_extensions([]) == b""


# --- seq_newer --------------------------------------------------------------------------------


def test_seq_newer_handles_wraparound() -> None:
    assert seq_newer(0, 65535)
    assert seq_newer(10, 65530)
    assert not seq_newer(65535, 0)
    assert not seq_newer(5, 5)


@given(a=seqs, b=seqs)
def test_seq_newer_is_antisymmetric_and_irreflexive(a: int, b: int) -> None:
    assert not (seq_newer(a, b) and seq_newer(b, a))
    assert not seq_newer(a, a)
    if a != b and (a - b) & 0xFFFF != 0x8000:
        assert seq_newer(a, b) != seq_newer(b, a)


# --- StreamRebaser ----------------------------------------------------------------------------


def _send_run(rebaser: StreamRebaser, seq: int, ts: int, count: int, now: float,
              ts_step: int = 3000) -> list[tuple[int, int]]:
    out = []
    for i in range(count):
        mapped = rebaser.map((seq + i) & 0xFFFF, (ts + i * ts_step) & 0xFFFFFFFF)
        assert mapped is not None
        rebaser.sent(*mapped, now)
        out.append(mapped)
    return out


def test_first_source_starts_at_the_initial_sequence_number_and_timestamp() -> None:
    rebaser = StreamRebaser(90000, initial_seq=1000, initial_ts=5_000_000)
    rebaser.rebase("a", seq=40000, ts=123, now=10.0)

    assert rebaser.map(40000, 123) == (1000, 5_000_000)
    assert rebaser.map(40001, 3123) == (1001, 5_003_000)


def test_source_change_continues_sequence_and_advances_timestamp_by_elapsed_time() -> None:
    rebaser = StreamRebaser(90000, initial_seq=100, initial_ts=0)
    rebaser.rebase("old", seq=7, ts=1_000, now=10.0)
    sent = _send_run(rebaser, 7, 1_000, 5, now=10.0)
    last_seq, last_ts = sent[-1]

    rebaser.rebase("new", seq=50_000, ts=999_999, now=10.5)

    assert rebaser.source == "new"
    assert rebaser.map(50_000, 999_999) == (last_seq + 1, last_ts + 45_000)  # 0.5 s at 90 kHz
    assert rebaser.map(50_001, 1_002_999) == (last_seq + 2, last_ts + 48_000)


def test_source_change_with_no_elapsed_time_still_advances_the_timestamp() -> None:
    rebaser = StreamRebaser(48000, initial_seq=0, initial_ts=0)
    rebaser.rebase("old", seq=0, ts=0, now=1.0)
    _send_run(rebaser, 0, 0, 3, now=1.0, ts_step=960)

    rebaser.rebase("new", seq=9, ts=9, now=1.0)

    mapped = rebaser.map(9, 9)
    assert mapped is not None
    assert mapped[1] == (2 * 960 + 1)


def test_packets_older_than_the_rebase_are_dropped() -> None:
    rebaser = StreamRebaser(90000, initial_seq=500, initial_ts=0)
    rebaser.rebase("a", seq=1000, ts=0, now=0.0)
    _send_run(rebaser, 1000, 0, 3, now=0.0)
    rebaser.rebase("b", seq=20, ts=0, now=0.1)

    assert rebaser.map(19, 0) is None
    assert rebaser.map(1, 0) is None
    assert rebaser.map(20, 0) is not None
    assert rebaser.map(21, 0) is not None


def test_sequence_numbers_wrap_around_continuously() -> None:
    rebaser = StreamRebaser(90000, initial_seq=65534, initial_ts=0xFFFFFFFF - 3000)
    rebaser.rebase("a", seq=0, ts=0, now=0.0)

    sent = _send_run(rebaser, 0, 0, 4, now=0.0)

    assert [s for s, _ in sent] == [65534, 65535, 0, 1]
    assert [t for _, t in sent] == [0xFFFFFFFF - 3000, 0xFFFFFFFF, 2999, 5999]
    assert rebaser.last_seq == 1
    rebaser.rebase("b", seq=30000, ts=0, now=0.0)
    assert rebaser.map(30000, 0) == (2, (5999 + 1) & 0xFFFFFFFF)


def test_late_retransmission_does_not_move_the_last_sent_sequence_backwards() -> None:
    rebaser = StreamRebaser(90000, initial_seq=10, initial_ts=0)
    rebaser.rebase("a", seq=0, ts=0, now=0.0)
    _send_run(rebaser, 0, 0, 5, now=0.0)

    rebaser.sent(11, 3000, 0.1)  # an older packet sent again

    assert rebaser.last_seq == 14


@given(initial_seq=seqs, initial_ts=timestamps, in_seq=seqs, in_ts=timestamps,
       offsets=st.lists(st.integers(0, 0x7FFF), min_size=1, max_size=50, unique=True))
def test_mapping_within_an_epoch_is_a_bijection_preserving_order_and_spacing(
        initial_seq: int, initial_ts: int, in_seq: int, in_ts: int, offsets: list[int]) -> None:
    rebaser = StreamRebaser(90000, initial_seq, initial_ts)
    rebaser.rebase("src", in_seq, in_ts, now=0.0)

    mapped = {k: rebaser.map((in_seq + k) & 0xFFFF, (in_ts + 90 * k) & 0xFFFFFFFF) for k in offsets}

    assert all(m is not None for m in mapped.values())
    outs = [m[0] for m in mapped.values() if m is not None]
    assert len(set(outs)) == len(outs)
    for k, m in mapped.items():
        assert m == ((initial_seq + k) & 0xFFFF, (initial_ts + 90 * k) & 0xFFFFFFFF)
        assert rebaser.inbound_timestamp(m[1]) == (in_ts + 90 * k) & 0xFFFFFFFF


@given(initial_seq=seqs, first=seqs, second=seqs, count=st.integers(1, 40), gap=st.floats(0.0, 30.0))
def test_after_any_source_change_the_next_sequence_number_follows_the_last_sent(
        initial_seq: int, first: int, second: int, count: int, gap: float) -> None:
    rebaser = StreamRebaser(90000, initial_seq, 0)
    rebaser.rebase("a", first, 0, now=100.0)
    sent = _send_run(rebaser, first, 0, count, now=100.0)

    now = 100.0 + gap
    rebaser.rebase("b", second, 0, now=now)

    mapped = rebaser.map(second, 0)
    assert mapped is not None
    assert mapped[0] == (sent[-1][0] + 1) & 0xFFFF
    assert (mapped[1] - sent[-1][1]) & 0xFFFFFFFF == max(1, int((now - 100.0) * 90000))
