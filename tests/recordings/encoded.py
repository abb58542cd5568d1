"""Encoded media for recording tests: real encoders, aiortc's own packetizers."""

from __future__ import annotations

import fractions
from typing import cast

import av
import numpy as np
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder

__all__ = ["Frames", "Packet", "encode_h264", "encode_opus", "encode_vp8", "packetize_h264", "packetize_vp8", "rtp"]

Packet = tuple[int, int, int, bytes]  # (seq, ts, marker, payload)
Frames = list[tuple[bytes, bool]]  # (encoded frame, keyframe)


def _image(i: int, width: int, height: int) -> av.VideoFrame:
    rng = np.random.default_rng(i // 5)  # noisy pictures: keyframes need several packets
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    noise[:, :, 0] = ((noise[:, :, 0] // 4).astype(np.uint16) + i * 8) % 256
    return av.VideoFrame.from_ndarray(noise, format="rgb24").reformat(format="yuv420p")


def _encode(codec: str, count: int, width: int, height: int, gop: int, **options: str) -> list[tuple[bytes, bool]]:
    context = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = fractions.Fraction(1, 30)
    context.framerate = fractions.Fraction(30)
    context.gop_size = gop
    context.bit_rate = 2_000_000
    context.options = options
    out: list[tuple[bytes, bool]] = []
    for i in range(count):
        frame = _image(i, width, height)
        frame.pts = i
        out += [(bytes(p), p.is_keyframe) for p in context.encode(frame)]
    out += [(bytes(p), p.is_keyframe) for p in context.encode(None)]
    return out


def encode_vp8(count: int = 12, width: int = 320, height: int = 240, gop: int = 6) -> list[tuple[bytes, bool]]:
    return _encode("libvpx", count, width, height, gop, deadline="realtime", **{"lag-in-frames": "0"})


def encode_h264(count: int = 12, width: int = 320, height: int = 240, gop: int = 6) -> list[tuple[bytes, bool]]:
    return _encode("libx264", count, width, height, gop, tune="zerolatency", bf="0")


def encode_opus(count: int = 10) -> list[bytes]:
    context = av.CodecContext.create("libopus", "w")
    context.sample_rate, context.layout, context.format = 48000, "stereo", "s16"
    context.time_base = fractions.Fraction(1, 48000)
    out: list[bytes] = []
    for i in range(count):
        t = (np.arange(960) + i * 960) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 960
        out += [bytes(p) for p in context.encode(frame)]
    return out


def packetize_vp8(frame: bytes, picture_id: int) -> list[bytes]:
    return Vp8Encoder()._packetize(frame, picture_id)


def packetize_h264(access_unit: bytes) -> list[bytes]:
    encoder = H264Encoder()
    return encoder._packetize(encoder._split_bitstream(access_unit))


def rtp(frames: list[list[bytes]], first_seq: int = 65530, step: int = 3000) -> list[Packet]:
    """RTP (seq, ts, marker, payload) for frames already split into payloads; seq wraps on purpose."""
    packets: list[Packet] = []
    seq = first_seq
    for index, payloads in enumerate(frames):
        for k, payload in enumerate(payloads):
            packets.append((seq & 0xFFFF, (index * step + 4_294_960_000) & 0xFFFFFFFF, int(k == len(payloads) - 1),
                            payload))
            seq += 1
    return packets
