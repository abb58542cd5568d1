"""Publishing synthetic media into a lesson over WHIP, as its teacher."""

from __future__ import annotations

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription

from tests.support.peers import SyntheticAudio, SyntheticVideo, publisher_offer
from tests.support.tokens import Tokens

__all__ = ["publish"]


async def publish(client: httpx.AsyncClient, tokens: Tokens, lesson_id: str) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    offer = await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240))
    response = await client.post(f"/whip/{lesson_id}", content=offer,
                                 headers={**tokens.teacher(), "Content-Type": "application/sdp"})
    assert response.status_code == 201, response.text
    await pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))
    return pc
