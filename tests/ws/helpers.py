"""Helpers shared by the lesson-channel tests: tokens as query strings, publishing and subscribing."""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.media.peers import Subscriber, SyntheticAudio, SyntheticVideo, publisher_offer
from tests.ws.client import LessonClient

__all__ = ["answer_offers", "bearer", "publish"]


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def publish(client: LessonClient, feeds: dict[str, str], restart: bool = False) -> RTCPeerConnection:
    """A new aiortc publisher sending synthetic media into ``feeds`` ({mid: feed name})."""
    pc = RTCPeerConnection()
    tracks = [SyntheticVideo() if name != "mic" else SyntheticAudio() for name in feeds.values()]
    sdp = await publisher_offer(pc, *tracks)
    message: dict[str, object] = {"type": "publish.offer", "sdp": sdp, "feeds": feeds}
    if restart:
        message["restart"] = True
    reply = await client.request(message)
    assert reply["type"] == "publish.answer", reply
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    return pc


async def answer_offers(client: LessonClient, viewer: Subscriber) -> dict[str, str]:
    """Answer the next ``subscribe.offer`` with ``viewer``; returns its tracks {mid: feed}."""
    offer = await client.expect("subscribe.offer")
    reply = await client.request({"type": "subscribe.answer", "sdp": await viewer.answer(offer["sdp"])})
    assert reply["type"] == "ack", reply
    return dict(offer["tracks"])
