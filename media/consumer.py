"""Consumer: one outbound copy of a feed to one subscriber."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Protocol

from aiortc import clock

from . import fanout
from .aiortc_adapter import OutboundParameters, OutboundPort, SenderReport
from .ids import new_id
from .producer import Producer
from .rtp import ForwardedPacket, one_byte_extensions
from .workers.wire import RebaseState

__all__ = ["Consumer", "Offload"]

logger = logging.getLogger(__name__)

HISTORY = fanout.HISTORY  # packets kept for NACK answers (~5 s of 720p video)
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

    The per-packet state (header, rebasing, NACK history, counters, route) lives
    in ``leg`` (media/fanout.py), which the feed drives for all its consumers in
    one call; the consumer keeps the wiring and the subscriber's feedback.
    """

    def __init__(self, kind: str, port_factory: Callable[[Consumer], OutboundPort]) -> None:
        self.id = new_id("cons")
        self.kind = kind
        self.feed: str | None = None
        self.closed = False
        self.nacked = 0
        """sequence numbers the subscriber asked again"""
        self.keyframe_requests = 0
        self.loss = 0.0
        """the fraction lost in the subscriber's last receiver report"""
        self.rtt: float | None = None
        """round trip to the subscriber in seconds (smoothed, from its receiver reports), None before one"""
        self._params: OutboundParameters | None = None
        self._request_keyframe: Callable[[], None] = lambda: None
        self._on_close: list[Callable[[Consumer], None]] = []
        self.remote: Offload | None = None
        """set while a media worker sends this consumer's packets (``media.workers``)"""
        self._port = port_factory(self)
        self.leg: fanout.Leg = fanout.implementation().leg(
            90000 if kind == "video" else 48000, random.randrange(0x8000), random.randrange(1 << 32),
            self._port.send, getattr(self._port, "route", None), self._accepts)

    # --- counters (kept by the leg) -------------------------------------------------------

    @property
    def packets(self) -> int:
        return self.leg.packets

    @property
    def octets(self) -> int:
        return self.leg.octets

    @property
    def retransmitted(self) -> int:
        return self.leg.retransmitted

    @property
    def send_failures(self) -> int:
        """packets not sent because the transport could not send (not connected yet, or gone)"""
        return self.leg.send_failures

    @property
    def paused(self) -> bool:
        return self.leg.paused

    # --- wiring -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._params is not None and not self.closed

    @property
    def ssrc(self) -> int:
        return self._port.ssrc

    def bind(self, feed: str | None, request_keyframe: Callable[[], None]) -> None:
        """Follow ``feed`` (None: idle). The next video packet sent is a keyframe."""
        self.feed = feed
        self._request_keyframe = request_keyframe
        self.leg.source = None
        if self.remote is not None:
            self.remote.rebind(feed, request_keyframe)

    def on_close(self, callback: Callable[[Consumer], None]) -> None:
        self._on_close.append(callback)

    def set_parameters(self, params: OutboundParameters) -> None:
        if self.closed:
            return
        self._params = params
        if self.remote is None:  # an offloaded consumer's worker gets the new spec (WorkerPool.adopt)
            self.leg.set_header(params.payload_type, params.ssrc, one_byte_extensions(params.extensions))
            self.leg.restart(params.clock_rate)
        self._request_keyframe()

    def set_paused(self, paused: bool) -> None:
        """Pause (e.g. video off on a weak link); resuming waits for a keyframe."""
        if paused == self.paused:
            return
        self.leg.paused = paused
        self.leg.source = None
        if self.remote is not None:
            self.remote.set_paused(paused)
        if not paused:
            self._request_keyframe()

    # --- hot path (the feed calls the legs of all its consumers at once) ----------------

    def forward(self, producer: Producer, packet: ForwardedPacket) -> None:
        self.leg.forward(producer, packet)

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
        if self._params is None or self.closed:
            return
        self.nacked += len(sequence_numbers)
        if self.remote is not None:
            self.remote.retransmit(sequence_numbers)
            return
        self.leg.retransmit(sequence_numbers, None, self.rtt)  # bounded: once per round trip, bytes per second

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
        leg = self.leg
        producer = leg.source
        if not leg.packets or not isinstance(producer, Producer):
            return None
        now = time.monotonic()
        if producer.last_sender_report is not None:
            sr_ntp, sr_rtp, arrived = producer.last_sender_report
            elapsed = max(0.0, now - arrived)
            ntp = (sr_ntp + int(elapsed * (1 << 32))) & 0xFFFFFFFFFFFFFFFF
            rtp = leg.outbound_timestamp((sr_rtp + int(elapsed * producer.clock_rate)) & 0xFFFFFFFF)
        else:
            elapsed = max(0.0, now - (leg.last_time or now))
            ntp = clock.current_ntp_time()
            rtp = (leg.last_ts + int(elapsed * producer.clock_rate)) & 0xFFFFFFFF
        return SenderReport(ntp, rtp, self.packets, self.octets)

    # --- handing the data plane to a media worker and back (media.workers) ------------------

    @property
    def parameters(self) -> OutboundParameters | None:
        return self._params

    def stream_state(self) -> RebaseState:
        """Where the outbound stream stands (a worker continues it from there)."""
        leg = self.leg
        return RebaseState(leg.last_seq, leg.last_ts, leg.last_time, leg.started)

    def offload(self, remote: Offload) -> None:
        """A worker sends from now on; it starts on a keyframe. The leg stays in the feed's
        fan-out but sends nothing (no header) until ``resume_local``."""
        self.remote = remote
        self.leg.clear_header()
        remote.rebind(self.feed, self._request_keyframe)
        if self.paused:
            remote.set_paused(True)

    def count_remote(self, packets: int, octets: int, retransmitted: int, send_failures: int) -> None:
        """The counters while a worker sends (its report added to what was sent before)."""
        leg = self.leg
        leg.packets, leg.octets, leg.retransmitted, leg.send_failures = packets, octets, retransmitted, send_failures

    def resume_local(self, state: RebaseState) -> None:
        """The worker is gone: send in-process again, continuing from ``state``, on a keyframe."""
        self.remote = None
        params = self._params
        if params is not None and not self.closed:
            self.leg.set_header(params.payload_type, params.ssrc, one_byte_extensions(params.extensions))
            self.leg.resume(params.clock_rate, state.last_seq, state.last_ts, state.last_time, state.started)
        self._request_keyframe()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.leg.clear_header()
        for callback in self._on_close:
            callback(self)
        logger.debug("consumer closed consumer=%s feed=%s", self.id, self.feed)
