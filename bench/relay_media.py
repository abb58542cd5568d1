"""Pre-encoded synthetic media for the relay benchmark: 720p VP8 at ~1.5 Mbit/s and Opus.

Encoded once (a few seconds of one core) and cached in the temp directory, so
the publisher never encodes live.
"""

from __future__ import annotations

import fractions
import math
import os
import pickle
import tempfile
import time

import av
import numpy as np

WIDTH, HEIGHT, FPS = 1280, 720, 30
VIDEO_BITRATE = 1_500_000
GOP = 60  # keyframe every 2 s
SECONDS = 10
CACHE_VERSION = 2


def cache_path(bitrate: int = VIDEO_BITRATE) -> str:
    return os.path.join(tempfile.gettempdir(),
                        f"relay_bench_media_v{CACHE_VERSION}_{WIDTH}x{HEIGHT}_{bitrate}_{SECONDS}s.pkl")


def _encode_video(seconds: int, bitrate: int) -> list[tuple[bytes, bool]]:
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    ctx.bit_rate = bitrate
    ctx.framerate = fractions.Fraction(FPS, 1)
    ctx.time_base = fractions.Fraction(1, FPS)
    ctx.gop_size = GOP
    ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "static-thresh": "0"}
    rng = np.random.default_rng(1)
    # a blocky random texture twice the frame size, panned every frame, plus a noisy
    # patch and a colour drift: real motion so the encoder spends its bitrate
    tex = rng.integers(0, 256, (HEIGHT * 2 // 8, WIDTH * 2 // 8), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    out: list[tuple[bytes, bool]] = []
    for i in range(seconds * FPS):
        y0, x0 = (i * 5) % HEIGHT, (i * 7) % WIDTH
        y = tex[y0:y0 + HEIGHT, x0:x0 + WIDTH].copy()
        by = 200 + int(150 * math.sin(i / 15))
        bx = 500 + int(300 * math.cos(i / 20))
        y[by:by + 80, bx:bx + 120] = rng.integers(0, 256, (80, 120), dtype=np.uint8)
        u = np.full((HEIGHT // 2, WIDTH // 2), (i * 3) % 256, np.uint8)
        v = np.full((HEIGHT // 2, WIDTH // 2), 128, np.uint8)
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(y.tobytes())
        frame.planes[1].update(u.tobytes())
        frame.planes[2].update(v.tobytes())
        frame.pts = i
        for packet in ctx.encode(frame):
            out.append((bytes(packet), bool(packet.is_keyframe)))
    for packet in ctx.encode(None):
        out.append((bytes(packet), bool(packet.is_keyframe)))
    return out


def _encode_audio(seconds: int) -> list[bytes]:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = 48000
    ctx.layout = "stereo"
    ctx.format = "s16"
    ctx.bit_rate = 64000
    ctx.time_base = fractions.Fraction(1, 48000)
    out: list[bytes] = []
    samples = 960
    for i in range(seconds * 50):
        t = (np.arange(samples) + i * samples) / 48000
        tone = (np.sin(2 * math.pi * (440 + 40 * math.sin(i / 25)) * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = i * samples
        frame.time_base = fractions.Fraction(1, 48000)
        for packet in ctx.encode(frame):
            out.append(bytes(packet))
    for packet in ctx.encode(None):
        out.append(bytes(packet))
    return out


def load_media(seconds: int = SECONDS, bitrate: int = VIDEO_BITRATE) -> dict:
    """{"video": [(vp8 frame, is_key)], "audio": [opus 20 ms packet], ...}, from cache if present;
    ``bitrate`` is the VP8 encoder's target (the weak-link bench asks for ~2 Mbit/s)."""
    path = cache_path(bitrate)
    try:
        with open(path, "rb") as f:
            media = pickle.load(f)
        if media.get("seconds") == seconds:
            return media
    except (OSError, pickle.PickleError, EOFError, AttributeError):
        pass
    started = time.monotonic()
    video = _encode_video(seconds, bitrate)
    audio = _encode_audio(seconds)
    media = {
        "seconds": seconds,
        "video": video,
        "audio": audio,
        "video_bps": sum(len(d) for d, _ in video) * 8 / (len(video) / FPS),
        "encode_s": time.monotonic() - started,
    }
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        pickle.dump(media, f)
    os.replace(tmp, path)
    return media


if __name__ == "__main__":
    m = load_media()
    keys = [i for i, (_, k) in enumerate(m["video"]) if k]
    print(f"video frames={len(m['video'])} keyframes at {keys} bitrate={m['video_bps'] / 1e6:.2f} Mbit/s "
          f"audio packets={len(m['audio'])} encode={m.get('encode_s', 0):.1f}s")
