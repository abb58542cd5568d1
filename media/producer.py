"""Producer: one inbound track of a transport, feeding the router."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from .aiortc_adapter import InboundTap
from .codecs import is_keyframe_start
from .ids import new_id
from .rtp import ForwardedPacket

__all__ = ["Producer"]

logger = logging.getLogger(__name__)

Sink = Callable[["Producer", ForwardedPacket], None]


class Producer:
    """An inbound stream (teacher camera, mic, screen, an on-stage classroom).

    Packets are handed to ``sink`` (the router's feed) as they arrive; nothing
    is decoded. ``close()`` is idempotent and detaches the producer from its feed.
    """

    def __init__(self, kind: str, feed: str, tap_factory: Callable[[Producer], InboundTap]) -> None:
        self.id = new_id("prod")
        self.kind = kind
        self.feed = feed
        self.closed = False
        self.mime_type: str | None = None
        self.clock_rate: int = 90000 if kind == "video" else 48000
        self.packets = 0
        self.octets = 0
        """payload bytes received (the publisher's uplink as this server sees it)"""
        self.last_sender_report: tuple[int, int, float] | None = None
        self._sink: Sink | None = None
        self._on_close: list[Callable[[Producer], None]] = []
        self._tap = tap_factory(self)

    def attach(self, sink: Sink) -> None:
        self._sink = sink

    def on_close(self, callback: Callable[[Producer], None]) -> None:
        self._on_close.append(callback)

    def request_keyframe(self) -> None:
        if not self.closed:
            self._tap.request_keyframe()

    def handle_packet(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        if self.closed:
            return
        if self.mime_type is None:
            self.mime_type = codec.mimeType.lower()
            self.clock_rate = codec.clockRate
        self.packets += 1
        self.octets += len(packet.payload)
        forwarded = ForwardedPacket(packet.sequence_number, packet.timestamp, packet.marker, packet.payload,
                                    is_keyframe_start(self.mime_type, packet.payload), time.monotonic())
        if self._sink is not None:
            self._sink(self, forwarded)

    def handle_sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        self.last_sender_report = (ntp_timestamp, rtp_timestamp, time.monotonic())

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._sink = None
        await self._tap.close()
        for callback in self._on_close:
            callback(self)
        logger.debug("producer closed producer=%s feed=%s", self.id, self.feed)
