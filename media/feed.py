"""Feed: a stable, named source in a router ("teacher/camera") and who consumes it.

A feed outlives its producers: when the teacher reconnects, her new producer
replaces the old one in the same feed and every consumer keeps receiving,
with continuous sequence numbers and timestamps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from . import fanout
from .producer import Producer
from .rtp import ForwardedPacket
from .throttle import KeyframeThrottle

__all__ = ["Feed"]

logger = logging.getLogger(__name__)


class Follower(Protocol):
    """What a feed needs from whoever follows it: a ``Consumer`` or a ``FeedTap``."""

    feed: str | None

    @property
    def leg(self) -> fanout.Leg | None:
        """a consumer's send state, driven by the feed's fan-out; None for a follower that forwards itself"""

    @property
    def ready(self) -> bool: ...

    def bind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None: ...

    def on_close(self, callback: Callable[[Follower], None]) -> None: ...

    def forward(self, producer: Producer, packet: ForwardedPacket) -> None: ...


class Feed:
    def __init__(self, key: str, kind: str, on_change: Callable[[], None], keyframe_interval: float = 0.5) -> None:
        self.key = key
        self.kind = kind
        self.producer: Producer | None = None
        self._consumers: set[Follower] = set()
        self._legs: tuple[fanout.Leg, ...] = ()  # one fan-out call per packet sends to all of these
        self._others: tuple[Follower, ...] = ()  # followers without a leg (taps): forwarded one by one
        self._fanout = fanout.implementation().deliver
        self._on_change = on_change
        self._throttle = KeyframeThrottle(self._send_keyframe_request, keyframe_interval)
        self.delivery_failures = 0
        """packets a follower or the fan-out raised on (logged; the others still got them)"""

    @property
    def live(self) -> bool:
        return self.producer is not None

    @property
    def consumers(self) -> frozenset[Follower]:
        return frozenset(self._consumers)

    @property
    def keyframe_requests_sent(self) -> int:
        return self._throttle.sent

    def set_producer(self, producer: Producer) -> Producer | None:
        """Make ``producer`` the source; returns the producer it replaced, if any."""
        previous = self.producer
        self.producer = producer
        producer.attach(self._deliver)
        producer.on_close(self._producer_closed)
        if self._consumers:
            self.request_keyframe()
        self._on_change()
        return previous

    def add(self, consumer: Follower) -> None:
        self._consumers.add(consumer)
        self._retarget()
        consumer.bind(self.key, self.request_keyframe)
        consumer.on_close(self.remove)
        if consumer.ready:  # otherwise it asks itself once negotiated: a keyframe now would be wasted
            self.request_keyframe()

    def remove(self, consumer: Follower) -> None:
        if consumer in self._consumers:
            self._consumers.discard(consumer)
            self._retarget()
            if consumer.feed == self.key:
                consumer.bind(None, lambda: None)

    def request_keyframe(self) -> None:
        if self.kind == "video":
            self._throttle.request()

    def close(self) -> None:
        self._throttle.close()
        for consumer in list(self._consumers):
            self.remove(consumer)
        self.producer = None

    def _retarget(self) -> None:
        self._legs = tuple(c.leg for c in self._consumers if c.leg is not None)
        self._others = tuple(c for c in self._consumers if c.leg is None)

    def _deliver(self, producer: Producer, packet: ForwardedPacket) -> None:
        """Called from the publisher's receive path: nothing raised here may reach aiortc, which would
        close the publisher's transport and cut the feed for everybody."""
        if producer is not self.producer:
            return
        if self._legs:
            try:
                self._fanout(self._legs, producer, packet)
            except Exception:
                self._delivery_failed("fan-out")
        for follower in self._others:
            try:
                follower.forward(producer, packet)
            except Exception:
                self._delivery_failed(type(follower).__name__)

    def _delivery_failed(self, where: str) -> None:
        self.delivery_failures += 1
        if self.delivery_failures & (self.delivery_failures - 1) == 0:  # 1, 2, 4, 8...: visible, never a flood
            logger.exception("feed delivery failed feed=%s in=%s failures=%d", self.key, where,
                             self.delivery_failures)

    def _send_keyframe_request(self) -> None:
        if self.producer is not None:
            self.producer.request_keyframe()

    def _producer_closed(self, producer: Producer) -> None:
        if producer is self.producer:
            self.producer = None
            self._on_change()
