"""Consumer: one outbound copy of a feed to one subscriber."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Protocol

from aiortc import clock

from .aiortc_adapter import OutboundParameters, OutboundPort, SenderReport
from .ids import new_id
from .producer import Producer
from .rtp import ForwardedPacket, HeaderWriter, StreamRebaser, one_byte_extensions
from .workers.wire import RebaseState

__all__ = ["Consumer", "Offload"]

logger = logging.getLogger(__name__)

HISTORY = 1024  # packets kept for NACK answers (~5 s of 720p video)
RTT_ALPHA = 0.85  # smoothing of the round trip, as aiortc's sender does it


class Offload(Protocol):
    """Where a consumer's packets are written when a media worker sends them (``media.workers``)."""

    def rebind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    def retransmit(self, sequence_numbers: list[int]) -> None: ...

    def sender_report(self) -> SenderReport | None: ...


class Consumer:
    """Rewrites and sends a feed's packets on one sender.

    The outbound stream (SSRC, sequence numbers, timestamps) is continuous for
    the consumer's whole life, whichever producer currently feeds the feed.
    A video consumer starts, and restarts after a source change, on a keyframe.
    """

    def __init__(self, kind: str, port_factory: Callable[[Consumer], OutboundPort]) -> None:
        self.id = new_id("cons")
        self.kind = kind
        self.feed: str | None = None
        self.closed = False
        self.paused = False
        self.packets = 0
        self.octets = 0
        self.retransmitted = 0
        self.nacked = 0
        """sequence numbers the subscriber asked again"""
        self.keyframe_requests = 0
        self.send_failures = 0
        """packets not sent because the transport could not send (not connected yet, or gone)"""
        self.loss = 0.0
        """the fraction lost in the subscriber's last receiver report"""
        self.rtt: float | None = None
        """round trip to the subscriber in seconds (smoothed, from its receiver reports), None before one"""
        self._writer: HeaderWriter | None = None
        self._params: OutboundParameters | None = None
        self._rebaser = StreamRebaser(90000 if kind == "video" else 48000,
                                      random.randrange(0x8000), random.randrange(1 << 32))
        # NACK history as parallel lists: no per-packet allocation and nothing new for the cyclic GC to walk
        self._sent_seq: list[int] = [-1] * HISTORY
        self._sent_ts: list[int] = [0] * HISTORY
        self._sent_packet: list[ForwardedPacket | None] = [None] * HISTORY
        self._producer: Producer | None = None
        self._request_keyframe: Callable[[], None] = lambda: None
        self._on_close: list[Callable[[Consumer], None]] = []
        self.remote: Offload | None = None
        """set while a media worker sends this consumer's packets (``media.workers``)"""
        self._port = port_factory(self)

    # --- wiring -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._writer is not None

    @property
    def ssrc(self) -> int:
        return self._port.ssrc

    def bind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None:
        """Follow ``feed`` (None: idle). The next video packet sent is a keyframe."""
        self.feed = feed
        self._request_keyframe = request_keyframe
        self._producer = None
        if self.remote is not None:
            self.remote.rebind(feed, request_keyframe)

    def on_close(self, callback: Callable[[Consumer], None]) -> None:
        self._on_close.append(callback)

    def set_parameters(self, params: OutboundParameters) -> None:
        self._params = params
        self._writer = HeaderWriter(params.payload_type, params.ssrc, one_byte_extensions(params.extensions))
        self._rebaser = StreamRebaser(params.clock_rate, self._rebaser.last_seq + 1, self._rebaser.last_ts)
        self._request_keyframe()

    def set_paused(self, paused: bool) -> None:
        """Pause (e.g. video off on a weak link); resuming waits for a keyframe."""
        if paused == self.paused:
            return
        self.paused = paused
        self._producer = None
        if self.remote is not None:
            self.remote.set_paused(paused)
        if not paused:
            self._request_keyframe()

    # --- hot path ------------------------------------------------------------------------

    def forward(self, producer: Producer, packet: ForwardedPacket) -> None:
        writer = self._writer
        if writer is None or self.paused or self.remote is not None:
            return
        rebaser = self._rebaser
        if producer is not self._producer:
            if not self._accepts(producer, packet):
                return
            self._producer = producer
            rebaser.rebase(producer, packet.sequence_number, packet.timestamp, packet.arrival)
        mapped = rebaser.map(packet.sequence_number, packet.timestamp)
        if mapped is None:
            return
        seq, ts = mapped
        if self._port.send(writer.packet(packet.marker, seq, ts, packet.payload)):
            slot = seq % HISTORY
            self._sent_seq[slot] = seq
            self._sent_ts[slot] = ts
            self._sent_packet[slot] = packet
            rebaser.sent(seq, ts, packet.arrival)
            self.packets += 1
            self.octets += len(packet.payload)
        else:
            self.send_failures += 1

    def _accepts(self, producer: Producer, packet: ForwardedPacket) -> bool:
        params = self._params
        if params is None or producer.mime_type != params.mime_type:
            return False
        if not packet.keyframe:
            self._request_keyframe()
            return False
        return True

    # --- feedback from the subscriber -------------------------------------------------

    def retransmit(self, sequence_numbers: list[int]) -> None:
        writer = self._writer
        if writer is None:
            return
        self.nacked += len(sequence_numbers)
        if self.remote is not None:
            self.remote.retransmit(sequence_numbers)
            return
        for seq in sequence_numbers:
            slot = seq % HISTORY
            packet = self._sent_packet[slot]
            if packet is None or self._sent_seq[slot] != seq:
                continue  # too old, or never sent: the subscriber will ask for a keyframe
            if self._port.send(writer.packet(packet.marker, seq, self._sent_ts[slot], packet.payload)):
                self.retransmitted += 1
            else:
                self.send_failures += 1

    def keyframe_requested(self) -> None:
        self.keyframe_requests += 1
        self._request_keyframe()

    def loss_reported(self, fraction: float) -> None:
        self.loss = fraction

    def round_trip_measured(self, rtt: float) -> None:
        self.rtt = rtt if self.rtt is None else RTT_ALPHA * self.rtt + (1 - RTT_ALPHA) * rtt

    def sender_report(self) -> SenderReport | None:
        """NTP/RTP pair for our SR: the publisher's own mapping, shifted onto our timeline.

        Audio and video of one publisher share its NTP clock, so keeping its
        mapping (extrapolated by local elapsed time) keeps lip sync.
        """
        if self.remote is not None:
            return self.remote.sender_report()
        rebaser = self._rebaser
        producer = self._producer
        if not self.packets or producer is None:
            return None
        now = time.monotonic()
        if producer.last_sender_report is not None:
            sr_ntp, sr_rtp, arrived = producer.last_sender_report
            elapsed = max(0.0, now - arrived)
            ntp = (sr_ntp + int(elapsed * (1 << 32))) & 0xFFFFFFFFFFFFFFFF
            rtp = rebaser.outbound_timestamp((sr_rtp + int(elapsed * producer.clock_rate)) & 0xFFFFFFFF)
        else:
            elapsed = max(0.0, now - (rebaser.last_time or now))
            ntp = clock.current_ntp_time()
            rtp = (rebaser.last_ts + int(elapsed * producer.clock_rate)) & 0xFFFFFFFF
        return SenderReport(ntp, rtp, self.packets, self.octets)

    # --- handing the data plane to a media worker and back (media.workers) ------------------

    @property
    def parameters(self) -> OutboundParameters | None:
        return self._params

    def stream_state(self) -> RebaseState:
        """Where the outbound stream stands (a worker continues it from there)."""
        r = self._rebaser
        return RebaseState(r.last_seq, r.last_ts, r.last_time, r.started)

    def offload(self, remote: Offload) -> None:
        """A worker sends from now on; it starts on a keyframe."""
        self.remote = remote
        self._producer = None
        remote.rebind(self.feed, self._request_keyframe)
        if self.paused:
            remote.set_paused(True)

    def resume_local(self, state: RebaseState) -> None:
        """The worker is gone: send in-process again, continuing from ``state``, on a keyframe."""
        self.remote = None
        self._producer = None
        if self._params is not None:
            self._rebaser = StreamRebaser(self._params.clock_rate, (state.last_seq + 1) & 0xFFFF, state.last_ts)
            self._rebaser.last_time = state.last_time
            self._rebaser.started = state.started
        self._request_keyframe()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._writer = None
        self._producer = None
        for callback in self._on_close:
            callback(self)
        logger.debug("consumer closed consumer=%s feed=%s", self.id, self.feed)
