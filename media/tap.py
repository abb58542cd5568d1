"""FeedTap: a local consumer of a feed that hands encoded packets to a callback (the recorder).

A tap is what DESIGN.md calls the recorder tap: it joins a feed exactly like a
``Consumer`` (``Feed.add`` / ``Feed.remove``), but instead of writing RTP to a
peer it calls ``on_packet`` with the payload and a rebased sequence number and
timestamp. Nothing is decoded. The rebased timeline is continuous for the tap's
whole life, whichever producer feeds the feed: a teacher who reconnects keeps
one recording timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .ids import new_id
from .producer import Producer
from .rtp import ForwardedPacket, StreamRebaser

__all__ = ["FeedTap", "PacketSink"]

logger = logging.getLogger(__name__)

# (mime_type, clock_rate, seq, ts, marker, payload, keyframe)
PacketSink = Callable[[str, int, int, int, int, bytes, bool], None]


class FeedTap:
    """Follows one feed and passes its packets on, starting (and restarting after a
    source change) on a keyframe, for which it asks the feed when needed.

    ``on_packet`` runs on the event loop inside the producer's packet handler: it
    must be quick and must not raise (exceptions are logged and swallowed).
    """

    ready = True  # a tap needs no negotiation: the feed asks for a keyframe as soon as it is added
    leg = None  # the feed calls forward() itself: a tap has no leg in the feed's fan-out

    def __init__(self, kind: str, on_packet: PacketSink) -> None:
        self.id = new_id("tap")
        self.kind = kind
        self.feed: str | None = None
        self.closed = False
        self.paused = False
        self.packets = 0
        self.switches = 0  # sources followed so far: a change tells the sink that the stream restarted
        self._on_packet = on_packet
        self._rebaser: StreamRebaser | None = None
        self._producer: Producer | None = None
        self._request_keyframe: Callable[[], None] = lambda: None
        self._on_close: list[Callable[[FeedTap], None]] = []

    def bind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None:
        """Follow ``feed`` (None: idle). The next video packet passed on is a keyframe."""
        self.feed = feed
        self._request_keyframe = request_keyframe
        self._producer = None

    def on_close(self, callback: Callable[[FeedTap], None]) -> None:
        self._on_close.append(callback)

    def request_keyframe(self) -> None:
        """Ask the feed's producer for a keyframe (throttled by the feed)."""
        if not self.closed:
            self._request_keyframe()

    def forward(self, producer: Producer, packet: ForwardedPacket) -> None:
        if self.closed or self.paused or producer.mime_type is None:
            return
        if producer is not self._producer:
            if not packet.keyframe:
                self._request_keyframe()
                return
            self._switch_to(producer, packet)
        rebaser = self._rebaser
        assert rebaser is not None
        mapped = rebaser.map(packet.sequence_number, packet.timestamp)
        if mapped is None:
            return
        seq, ts = mapped
        rebaser.sent(seq, ts, packet.arrival)
        self.packets += 1
        try:
            self._on_packet(producer.mime_type, producer.clock_rate, seq, ts, packet.marker, packet.payload,
                            packet.keyframe)
        except Exception:
            logger.exception("tap sink failed tap=%s feed=%s", self.id, self.feed)

    def _switch_to(self, producer: Producer, packet: ForwardedPacket) -> None:
        if self._rebaser is None:
            self._rebaser = StreamRebaser(producer.clock_rate, 0, 0)
        self._producer = producer
        self.switches += 1
        self._rebaser.rebase(producer, packet.sequence_number, packet.timestamp, packet.arrival)
        logger.debug("tap source set tap=%s feed=%s producer=%s", self.id, self.feed, producer.id)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._producer = None
        for callback in self._on_close:
            callback(self)
        logger.debug("tap closed tap=%s feed=%s", self.id, self.feed)
