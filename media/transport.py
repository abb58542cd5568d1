"""Transport: one peer connection of one participant, and the producers and consumers on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCRtpTransceiver, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from .aiortc_adapter import OutboundParameters, take_sender, tap_receiver
from .consumer import Consumer
from .errors import MediaClosedError, SdpError
from .ids import new_id
from .producer import Producer
from .sdp_check import check_description

if TYPE_CHECKING:
    from .router import Router

__all__ = ["FeedNamer", "Transport"]

logger = logging.getLogger(__name__)

FeedNamer = Callable[[str, str], "str | None"]  # (kind, mid) -> feed key, None = refuse

SUPPORTED_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/h264")}


def _codec_preferences(kind: str, prefer: str | None) -> list[RTCRtpCodecCapability]:
    wanted = [prefer] if prefer else list(SUPPORTED_CODECS[kind])
    caps = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for mime in wanted for c in caps if c.mimeType.lower() == mime]
    return chosen + [c for c in caps if c.mimeType.lower() == f"{kind}/rtx"]


class Transport:
    """Wraps one ``RTCPeerConnection``; closing it closes its producers and consumers."""

    def __init__(self, router: Router, owner: str, configuration: RTCConfiguration,
                 connect_timeout_s: float = 10.0) -> None:
        self.id = new_id("tr")
        self.owner = owner
        self.router = router
        self.closed = False
        self.pc = RTCPeerConnection(configuration)
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        self._consumer_transceivers: dict[Consumer, RTCRtpTransceiver] = {}
        self._on_close: list[Callable[[Transport], None]] = []
        self._close_lock = asyncio.Lock()
        self._connect_timeout_s = connect_timeout_s
        self._connect_timer: asyncio.TimerHandle | None = None
        self.connected_once = False
        self.pc.on("connectionstatechange", self._connection_state_changed)

    @property
    def connection_state(self) -> str:
        return self.pc.connectionState

    def on_close(self, callback: Callable[[Transport], None]) -> None:
        self._on_close.append(callback)

    # --- publishing (the remote peer offers media) -------------------------------------

    async def accept_offer(self, sdp: str, name_feed: FeedNamer) -> str:
        """Apply a remote offer: its sending m-lines become producers, its receiving
        m-lines become consumers of the feeds ``name_feed`` names. Returns the answer."""
        self._check_open()
        check_description(sdp, "offer")
        await self._set_remote(RTCSessionDescription(sdp=sdp, type="offer"))
        new = [t for t in self.pc.getTransceivers() if t.mid not in self.producers and t.mid not in self.consumers]
        if not new and not (self.producers or self.consumers):
            raise SdpError("the offer has no audio or video section")
        for transceiver in new:
            self._adopt(transceiver, name_feed)
        return await self._answer()

    def _adopt(self, transceiver: RTCRtpTransceiver, name_feed: FeedNamer) -> None:
        offered = transceiver._offerDirection or "inactive"  # aiortc stores it from our side
        key = name_feed(transceiver.kind, transceiver.mid or "")
        if key is None or offered == "inactive":
            transceiver.direction = "inactive"
            return
        if offered in ("recvonly", "sendrecv"):
            transceiver.direction = "recvonly"
            transceiver.setCodecPreferences(_codec_preferences(transceiver.kind, self.router.preferred_codec(key)))
            self._add_producer(transceiver, key)
        else:
            transceiver.direction = "sendonly"
            transceiver.setCodecPreferences(_codec_preferences(transceiver.kind, self.router.preferred_codec(key)))
            consumer = self._add_consumer(transceiver)
            self.router.feed(key, transceiver.kind).add(consumer)

    def _add_producer(self, transceiver: RTCRtpTransceiver, key: str) -> Producer:
        def tap(p: Producer):  # type: ignore[no-untyped-def]
            return tap_receiver(transceiver.receiver, p.handle_packet, p.handle_sender_report)

        producer = Producer(transceiver.kind, key, tap)
        self.producers[transceiver.mid or producer.id] = producer
        self.router.count_producer(producer)
        self.router.attach_producer(key, producer)
        return producer

    # --- subscribing (the server offers media) -----------------------------------------

    def add_sending_slot(self, kind: str) -> Consumer:
        """A new send-only transceiver and its consumer; negotiate with ``create_offer``."""
        self._check_open()
        transceiver = self.pc.addTransceiver(kind, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(kind, None))
        return self._add_consumer(transceiver)

    async def create_offer(self) -> str:
        self._check_open()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._arm_connect_timer()
        for consumer, transceiver in self._consumer_transceivers.items():
            if transceiver.mid is not None and transceiver.mid not in self.consumers:
                self.consumers[transceiver.mid] = consumer
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        self._check_open()
        if self.pc.signalingState != "have-local-offer":
            raise SdpError("no offer is waiting for an answer")
        check_description(sdp, "answer")
        await self._set_remote(RTCSessionDescription(sdp=sdp, type="answer"))

    def mid_of(self, consumer: Consumer) -> str | None:
        transceiver = self._consumer_transceivers.get(consumer)
        return transceiver.mid if transceiver else None

    def _add_consumer(self, transceiver: RTCRtpTransceiver) -> Consumer:
        def port(c: Consumer):  # type: ignore[no-untyped-def]
            def parameters_set(params: OutboundParameters) -> None:
                c.set_parameters(params)
                if self.connected_once:  # a slot negotiated on a connected transport (a WS renegotiation)
                    self.router.offload(c, transceiver.sender)

            return take_sender(transceiver.sender, on_nack=c.retransmit, on_keyframe_request=c.keyframe_requested,
                               on_loss_report=c.loss_reported, sender_report=c.sender_report,
                               on_parameters=parameters_set, on_round_trip=c.round_trip_measured)

        consumer = Consumer(transceiver.kind, port)
        self.router.count_consumer(consumer)
        self._consumer_transceivers[consumer] = transceiver
        if transceiver.mid is not None:
            self.consumers[transceiver.mid] = consumer
        return consumer

    # --- common ---------------------------------------------------------------------------

    async def _set_remote(self, description: RTCSessionDescription) -> None:
        try:
            await self.pc.setRemoteDescription(description)
        except Exception as exc:  # aiortc raises ValueError, InvalidAccessError, KeyError... for bad SDP
            self._log_refused(description.type, exc)  # the Python text goes to the log, never to the peer
            raise SdpError(f"the SDP {description.type} could not be applied") from exc

    async def _answer(self) -> str:
        try:
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            self._log_refused("offer", exc)
            raise SdpError("this offer cannot be answered (no common codec or transport)") from exc
        self._arm_connect_timer()
        return self.pc.localDescription.sdp

    def _log_refused(self, kind: str, exc: Exception) -> None:
        logger.info("sdp refused lesson=%s transport=%s owner=%s kind=%s error=%r",
                    self.router.id, self.id, self.owner, kind, exc)

    def _arm_connect_timer(self) -> None:
        """Close the transport if ICE and DTLS do not connect in time (its sockets are open now)."""
        if self._connect_timer is None and not self.connected_once and not self.closed:
            loop = asyncio.get_running_loop()
            self._connect_timer = loop.call_later(self._connect_timeout_s, self._connect_timed_out)

    def _connect_timed_out(self) -> None:
        self._connect_timer = None
        if not self.connected_once and not self.closed:
            logger.info("transport never connected lesson=%s transport=%s owner=%s after=%ss",
                        self.router.id, self.id, self.owner, self._connect_timeout_s)
            self.router.schedule_close(self)

    def _cancel_connect_timer(self) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None

    def _check_open(self) -> None:
        if self.closed:
            raise MediaClosedError(f"transport {self.id} is closed")

    async def _connection_state_changed(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected_once = True
            self._cancel_connect_timer()
            for consumer, transceiver in list(self._consumer_transceivers.items()):
                self.router.offload(consumer, transceiver.sender)
        if self.pc.connectionState in ("failed", "closed") and not self.closed:
            logger.info("transport lost lesson=%s transport=%s owner=%s state=%s",
                        self.router.id, self.id, self.owner, self.pc.connectionState)
            self.router.schedule_close(self)

    async def close(self) -> None:
        """Close producers, consumers and the peer connection. Idempotent."""
        async with self._close_lock:
            if self.closed:
                return
            self.closed = True
            self._cancel_connect_timer()
            for producer in list(self.producers.values()):
                await producer.close()
            for consumer in list(self._consumer_transceivers):
                await consumer.close()
            await self.pc.close()
            for callback in self._on_close:
                callback(self)
            logger.debug("transport closed lesson=%s transport=%s", self.router.id, self.id)
