"""The main process's side of the pipe: ``FeedPipe`` (a feed piped once into a worker)
and ``RemoteConsumer`` (a consumer whose packets a worker sends).

Signalling, ICE, DTLS and RTCP stay with the consumer's transport in this process; a
remote consumer forwards the consumer's commands (bind, pause, NACK) to its worker and
folds the worker's counters back into the ``Consumer`` so that sender reports,
``/metrics`` and the link-quality reporter read them as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import clock

from ..aiortc_adapter import SenderReport
from ..producer import Producer
from ..rtp import ForwardedPacket
from .wire import OutboundSpec, RebaseState, pack_packet, pack_source

if TYPE_CHECKING:
    from ..consumer import Consumer
    from ..feed import Feed
    from .pool import WorkerPool, WorkerProcess

__all__ = ["FeedPipe", "RemoteConsumer", "StreamSnapshot"]

logger = logging.getLogger(__name__)

SOURCES_KEPT = 4  # producers remembered per pipe, for sender reports of consumers a little behind
FALLBACK_SEQ_SKIP = 512  # a consumer taken back skips this many sequence numbers past the last it heard of


class FeedPipe:
    """Follows a feed like a consumer and sends each of its packets once to one worker."""

    ready = True  # a pipe needs no negotiation
    leg = None  # the feed calls ``forward`` (media.feed.Follower)

    def __init__(self, pipe_id: int, worker: WorkerProcess, feed: Feed, router_uid: str) -> None:
        self.id = pipe_id
        self.worker = worker
        self.feed_obj = feed
        self.router_uid = router_uid
        self.feed: str | None = None
        self.closed = False
        self.consumers: set[RemoteConsumer] = set()
        self.sent = 0
        self.dropped = 0
        """packets the worker's pipe had no room for"""
        self._source = 0
        self._producer: Producer | None = None
        self._sources: dict[int, Producer] = {}
        self._on_close: list[Callable[[Any], None]] = []
        self.request_keyframe: Callable[[], None] = lambda: None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.router_uid, self.feed_obj.key, self.worker.index)

    def bind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None:
        self.feed = feed
        self.request_keyframe = request_keyframe

    def on_close(self, callback: Callable[[Any], None]) -> None:
        self._on_close.append(callback)

    def producer_of(self, source: int) -> Producer | None:
        return self._sources.get(source)

    def forward(self, producer: Producer, packet: ForwardedPacket) -> None:
        if producer is not self._producer:
            self._new_source(producer)
        data = pack_packet(self.id, packet.sequence_number, packet.timestamp, packet.marker, packet.keyframe,
                           packet.arrival, packet.payload)
        if self.worker.send_pipe(data):
            self.sent += 1
        else:
            self.dropped += 1

    def _new_source(self, producer: Producer) -> None:
        self._producer = producer
        self._source += 1
        self._sources[self._source] = producer
        while len(self._sources) > SOURCES_KEPT:
            del self._sources[next(iter(self._sources))]
        self.worker.send_pipe(pack_source(self.id, self._source, producer.clock_rate, producer.mime_type or ""))

    def close(self) -> None:
        """Leave the feed and tell the worker to forget the pipe. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.feed_obj.remove(self)
        self.worker.command(("drop", self.id))
        for callback in self._on_close:
            callback(self)


class StreamSnapshot:
    """A worker's last report on one consumer."""

    __slots__ = ("packets", "octets", "retransmitted", "send_failures", "source", "ts_offset", "state")

    def __init__(self, values: tuple[Any, ...]) -> None:
        (_, self.packets, self.octets, self.retransmitted, self.send_failures, self.source, self.ts_offset,
         last_seq, last_ts, last_time) = values
        self.state = RebaseState(int(last_seq), int(last_ts), None if last_time < 0 else float(last_time),
                                 self.source >= 0 or last_time >= 0)


class RemoteConsumer:
    """A consumer served by a worker; created by ``WorkerPool.adopt``."""

    def __init__(self, pool: WorkerPool, worker: WorkerProcess, cid: int, consumer: Consumer,
                 feeds: Callable[[str], Feed | None], router_uid: str) -> None:
        self.pool = pool
        self.router_uid = router_uid
        self.worker = worker
        self.cid = cid
        self.consumer = consumer
        self.feeds = feeds
        self.pipe: FeedPipe | None = None
        self.request_keyframe: Callable[[], None] = lambda: None
        self.snapshot: StreamSnapshot | None = None
        self._base = (consumer.packets, consumer.octets, consumer.retransmitted, consumer.send_failures)

    # --- what the Consumer delegates (media.consumer.Offload) ----------------------------------

    def rebind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None:
        self.request_keyframe = request_keyframe
        self.pool.bind(self, None if feed is None else self.feeds(feed))

    def set_paused(self, paused: bool) -> None:
        self.worker.command(("pause", self.cid, paused))

    def retransmit(self, sequence_numbers: list[int]) -> None:
        self.worker.command(("nack", self.cid, [int(s) & 0xFFFF for s in sequence_numbers]))

    def set_spec(self, spec: OutboundSpec) -> None:
        self.worker.command(("spec", self.cid, spec.to_wire()))

    def sender_report(self) -> SenderReport | None:
        snap, consumer = self.snapshot, self.consumer
        producer = self.pipe.producer_of(snap.source) if snap is not None and self.pipe is not None else None
        if snap is None or producer is None or not consumer.packets:
            return None
        now = time.monotonic()
        if producer.last_sender_report is not None:  # as Consumer.sender_report, on the worker's offsets
            sr_ntp, sr_rtp, arrived = producer.last_sender_report
            elapsed = max(0.0, now - arrived)
            ntp = (sr_ntp + int(elapsed * (1 << 32))) & 0xFFFFFFFFFFFFFFFF
            rtp = (sr_rtp + int(elapsed * producer.clock_rate) + snap.ts_offset) & 0xFFFFFFFF
        else:
            elapsed = max(0.0, now - (snap.state.last_time or now))
            ntp = clock.current_ntp_time()
            rtp = (snap.state.last_ts + int(elapsed * producer.clock_rate)) & 0xFFFFFFFF
        return SenderReport(ntp, rtp, consumer.packets, consumer.octets)

    # --- from the worker --------------------------------------------------------------------

    def apply(self, values: tuple[Any, ...]) -> None:
        snap = self.snapshot = StreamSnapshot(values)
        packets, octets, retransmitted, failures = self._base
        self.consumer.count_remote(packets + snap.packets, octets + snap.octets, retransmitted + snap.retransmitted,
                                   failures + snap.send_failures)

    def fall_back(self) -> None:
        """The worker is gone: the consumer sends in-process again, a little ahead of where it was."""
        state = self.snapshot.state if self.snapshot is not None else self.consumer.stream_state()
        self.consumer.resume_local(RebaseState((state.last_seq + FALLBACK_SEQ_SKIP) & 0xFFFF, state.last_ts,
                                               state.last_time, state.started))
