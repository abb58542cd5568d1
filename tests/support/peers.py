"""Real aiortc peers for media tests: synthetic publishers and decoding subscribers."""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

__all__ = ["Subscriber", "SyntheticAudio", "SyntheticVideo", "publisher_offer"]


class SyntheticVideo(MediaStreamTrack):
    """Moving gradient frames at ``fps``; the frame index is painted into the top rows."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self._start: float | None = None
        self._index = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self._index / self.fps
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        shift = (self._index * 4) % 256
        row = (np.arange(self.width, dtype=np.uint16) + shift) % 256
        image = np.broadcast_to(row.astype(np.uint8), (self.height, self.width))
        rgb = np.stack([image, np.roll(image, 40, axis=1), np.full_like(image, 128)], axis=-1)
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self._index * (90000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._index += 1
        return frame


class SyntheticAudio(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames at 48 kHz."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self._samples / 48000
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        t = (np.arange(960) + self._samples) / 48000
        tone = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, 48000)
        self._samples += 960
        return frame


async def publisher_offer(pc: RTCPeerConnection, *tracks: MediaStreamTrack) -> str:
    for track in tracks:
        pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


class Subscriber:
    """An aiortc peer that receives audio and video and decodes and counts frames."""

    def __init__(self, kinds: tuple[str, ...] = ("audio", "video")) -> None:
        self.pc = RTCPeerConnection()
        self.frames: Counter[str] = Counter()
        self.frames_by_mid: Counter[str] = Counter()
        self.first_frame_at: dict[str, float] = {}
        self.last_video_size: tuple[int, int] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        for kind in kinds:
            self.pc.addTransceiver(kind, direction="recvonly")
        self.pc.on("track", self._on_track)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next((t.mid for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        self._tasks.append(asyncio.ensure_future(self._consume(track, mid or "?")))

    async def _consume(self, track: MediaStreamTrack, mid: str) -> None:
        try:
            while True:
                frame = await track.recv()
                self.frames[track.kind] += 1
                self.frames_by_mid[mid] += 1
                self.first_frame_at.setdefault(track.kind, time.monotonic())
                if isinstance(frame, VideoFrame):
                    self.last_video_size = (frame.width, frame.height)
        except MediaStreamError:
            pass

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


Step = Callable[[], Awaitable[None]]
