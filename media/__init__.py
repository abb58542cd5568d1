"""The media plane: a forwarding SFU built on aiortc (see media/LIFECYCLE.md).

Public API: ``MediaEngine`` -> ``Router`` -> ``Transport`` -> ``Producer`` / ``Consumer``,
with ``Feed`` naming stable sources inside a router.
"""

from .consumer import Consumer
from .engine import MediaConfig, MediaEngine
from .errors import CodecMismatch, MediaClosedError, MediaError, SdpError
from .feed import Feed
from .producer import Producer
from .router import Router
from .transport import FeedNamer, Transport

__all__ = [
    "CodecMismatch",
    "Consumer",
    "Feed",
    "FeedNamer",
    "MediaClosedError",
    "MediaConfig",
    "MediaEngine",
    "MediaError",
    "Producer",
    "Router",
    "SdpError",
    "Transport",
]
