"""A live lesson for recorder tests: an engine, a router and real aiortc publishers on loopback."""

from __future__ import annotations

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from media import MediaEngine, Router, Transport
from tests.support.peers import SyntheticAudio, SyntheticVideo, publisher_offer

__all__ = ["LiveLesson", "Publisher"]

FEED_NAMES = {"video": "camera", "audio": "mic"}


class Publisher:
    """One publishing peer connection and its server-side transport."""

    def __init__(self, pc: RTCPeerConnection, transport: Transport) -> None:
        self.pc, self.transport = pc, transport

    async def close(self) -> None:
        await self.transport.close()
        await self.pc.close()


class LiveLesson:
    def __init__(self) -> None:
        self.engine = MediaEngine()
        self.router: Router = self.engine.router("L")
        self.peers: list[RTCPeerConnection] = []

    async def publish(self, prefix: str = "teacher", *tracks: MediaStreamTrack) -> Publisher:
        """Publish ``tracks`` (default: a 320x240 synthetic camera and a tone) as ``<prefix>/camera|mic``."""
        pc = RTCPeerConnection()
        self.peers.append(pc)
        transport = self.router.create_transport(prefix)
        offer = await publisher_offer(pc, *(tracks or (SyntheticAudio(), SyntheticVideo(320, 240))))
        answer = await transport.accept_offer(offer, lambda kind, mid: f"{prefix}/{FEED_NAMES[kind]}")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        return Publisher(pc, transport)

    async def close(self) -> None:
        await self.engine.close()
        for pc in self.peers:
            await pc.close()
