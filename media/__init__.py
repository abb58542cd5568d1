"""The media plane: a forwarding SFU built on aiortc (see media/LIFECYCLE.md).

Public API: ``MediaEngine`` -> ``Router`` -> ``Transport`` -> ``Producer`` / ``Consumer``,
with ``Feed`` naming stable sources inside a router
and ``FeedTap`` following a feed locally (the recorder tap).
"""

from .consumer import Consumer
from .engine import MediaConfig, MediaEngine
from .errors import CodecMismatch, MediaClosedError, MediaError, SdpError
from .feed import Feed
from .producer import Producer
from .router import Router
from .sdp_check import check_description
from .stats import RelayStats, router_stats
from .tap import FeedTap, PacketSink
from .transport import FeedNamer, Transport

__all__ = [
    "CodecMismatch",
    "Consumer",
    "Feed",
    "FeedTap",
    "FeedNamer",
    "MediaClosedError",
    "MediaConfig",
    "MediaEngine",
    "MediaError",
    "PacketSink",
    "Producer",
    "RelayStats",
    "Router",
    "SdpError",
    "Transport",
    "check_description",
    "router_stats",
]
