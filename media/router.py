"""Router: the media of one live lesson: its feeds, producers, consumers and transports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCRtpSender

from .consumer import Consumer
from .errors import MediaClosedError
from .feed import Feed
from .ids import new_id
from .producer import Producer
from .stats import RelayStats
from .transport import Transport
from .workers import WorkerPool

__all__ = ["Router"]

logger = logging.getLogger(__name__)


class Router:
    """One per live lesson. Owns its transports; feeds map stable names to producers.

    ``close()`` closes every transport (and so every producer and consumer) and is
    idempotent. Transports that fail, or do not connect within ``connect_timeout_s`` of
    their first local description, are closed by a task the router owns.
    """

    def __init__(self, lesson_id: str, configuration: RTCConfiguration, connect_timeout_s: float = 10.0,
                 workers: WorkerPool | None = None) -> None:
        self.id = lesson_id
        self.uid = new_id("rt")
        self.closed = False
        self._configuration = configuration
        self._connect_timeout_s = connect_timeout_s
        self._workers = workers
        self.feeds: dict[str, Feed] = {}
        self.transports: set[Transport] = set()
        self._listeners: list[Callable[[], None]] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.open_producers: set[Producer] = set()
        self.open_consumers: set[Consumer] = set()
        self.retired: dict[str, RelayStats] = {}
        """kind -> the counters of producers and consumers that closed (see ``media.stats``)"""

    # --- feeds ------------------------------------------------------------------------------

    def feed(self, key: str, kind: str) -> Feed:
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = Feed(key, kind, self._feeds_changed)
        return feed

    def live_feeds(self) -> dict[str, str]:
        """Feed key -> kind, for every feed that has a producer now."""
        return {key: feed.kind for key, feed in self.feeds.items() if feed.live}

    def preferred_codec(self, key: str) -> str | None:
        feed = self.feeds.get(key)
        if feed is not None and feed.producer is not None:
            return feed.producer.mime_type
        return None

    def attach_producer(self, key: str, producer: Producer) -> None:
        previous = self.feed(key, producer.kind).set_producer(producer)
        if previous is not None and not previous.closed:
            logger.info("feed source replaced lesson=%s feed=%s", self.id, key)

    def on_feeds_changed(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever a feed gains or loses its producer; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _feeds_changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def offload(self, consumer: Consumer, sender: RTCRtpSender) -> None:
        """Hand a consumer of a connected transport to a media worker, if there are any."""
        if self._workers is not None and not self.closed:
            self._workers.adopt(consumer, sender, self.feeds.get, self.uid)

    # --- counters (read by media.stats.router_stats) -------------------------------------------

    def count_producer(self, producer: Producer) -> None:
        self.open_producers.add(producer)
        producer.on_close(self._retire_producer)

    def count_consumer(self, consumer: Consumer) -> None:
        self.open_consumers.add(consumer)
        consumer.on_close(self._retire_consumer)

    def _retire_producer(self, producer: Producer) -> None:
        if producer in self.open_producers:
            self.open_producers.discard(producer)
            self.retired.setdefault(producer.kind, RelayStats()).add_producer(producer)

    def _retire_consumer(self, consumer: Consumer) -> None:
        if consumer in self.open_consumers:
            self.open_consumers.discard(consumer)
            self.retired.setdefault(consumer.kind, RelayStats()).add_consumer(consumer)

    # --- transports --------------------------------------------------------------------------

    def create_transport(self, owner: str) -> Transport:
        if self.closed:
            raise MediaClosedError(f"lesson {self.id} media is closed")
        transport = Transport(self, owner, self._configuration, self._connect_timeout_s)
        self.transports.add(transport)
        transport.on_close(self.transports.discard)
        return transport

    def schedule_close(self, transport: Transport) -> None:
        task = asyncio.ensure_future(transport.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for transport in list(self.transports):
            await transport.close()
        await asyncio.gather(*self._closing, return_exceptions=True)
        for feed in self.feeds.values():
            feed.close()
        self._listeners.clear()
        logger.info("router closed lesson=%s", self.id)
