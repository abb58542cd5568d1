"""RelayStats: a router's forwarding counters, summed per media kind when asked (metrics read them).

Nothing here runs on the packet path: producers and consumers keep plain integer counters,
a router folds those of the ones that closed into ``Router.retired`` (so the totals of a live
lesson never go down), and ``router_stats`` adds the live ones at read time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .consumer import Consumer
    from .producer import Producer
    from .router import Router

__all__ = ["RelayStats", "router_stats"]


@dataclass
class RelayStats:
    """Counters of one media kind in one router (totals since the router opened, unless noted)."""

    received_packets: int = 0
    received_bytes: int = 0
    """payload bytes from publishers"""
    forwarded_packets: int = 0
    forwarded_bytes: int = 0
    """payload bytes sent to subscribers (all consumers together)"""
    nacked_packets: int = 0
    """sequence numbers subscribers asked again (RTCP NACK)"""
    retransmitted_packets: int = 0
    keyframe_requests_received: int = 0
    """PLI and FIR from subscribers"""
    keyframe_requests_sent: int = 0
    """keyframe requests sent to publishers (after throttling)"""
    send_failures: int = 0
    """packets a consumer could not send (transport not connected, or gone)"""
    consumers: int = 0
    """consumers open now"""
    loss: list[float] = field(default_factory=list)
    """fraction lost in each open consumer's last receiver report, now"""

    def add_producer(self, producer: Producer) -> None:
        self.received_packets += producer.packets
        self.received_bytes += producer.octets

    def add_consumer(self, consumer: Consumer) -> None:
        self.forwarded_packets += consumer.packets
        self.forwarded_bytes += consumer.octets
        self.nacked_packets += consumer.nacked
        self.retransmitted_packets += consumer.retransmitted
        self.keyframe_requests_received += consumer.keyframe_requests
        self.send_failures += consumer.send_failures


def router_stats(router: Router) -> dict[str, RelayStats]:
    """Kind ("audio", "video") -> the router's counters now: the retired ones plus the open ones."""
    stats = {kind: replace(retired, loss=[]) for kind, retired in router.retired.items()}
    for producer in list(router.open_producers):
        stats.setdefault(producer.kind, RelayStats()).add_producer(producer)
    for consumer in list(router.open_consumers):
        kind = stats.setdefault(consumer.kind, RelayStats())
        kind.add_consumer(consumer)
        kind.consumers += 1
        kind.loss.append(consumer.loss)
    for feed in list(router.feeds.values()):
        stats.setdefault(feed.kind, RelayStats()).keyframe_requests_sent += feed.keyframe_requests_sent
    return stats

