"""The one place that reaches into aiortc's private internals.

aiortc decodes everything it receives and encodes everything it sends. A
forwarding SFU needs neither, and aiortc has no public hook for it, so this
module replaces three things on individual receiver and sender *instances*
(never on the classes):

- ``RTCRtpReceiver.receive`` and ``_handle_rtp_packet``: no decoder thread is
  started; every inbound packet (after RTX unwrapping, with receiver statistics,
  upstream NACKs and REMB kept as aiortc does them) goes to a callback instead
  of the jitter buffer and the decoder.
- ``RTCRtpSender._run_rtp``: idles, because packets are written by the relay;
  ``_run_rtcp`` sends sender reports built from the relay's counters;
  ``_handle_rtcp_packet`` hands NACK, PLI/FIR and receiver reports to callbacks
  (the fraction lost, and the round trip from a report's LSR/DLSR against the
  sender reports sent here, RFC 3550 section 6.4.1).
- Sending: a packet is protected with the DTLS transport's SRTP session and
  written to the nominated ICE pair synchronously, without aiortc's per-packet
  coroutine chain: ``OutboundPort.send`` in Python, or, for the C fan-out
  (media/fanout.py), ``OutboundPort.route`` hands over the session's
  ``srtp_protect`` and the pair's socket, with what must hold for them to stay valid.

The aiortc version range is pinned in pyproject.toml; tests/media/test_adapter.py
fails loudly if an upgrade moves any of these internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import is_rtx
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)
from pylibsrtp import Error as SrtpError

from . import fanout

__all__ = [
    "InboundTap",
    "OutboundPort",
    "SendRoute",
    "SenderReportSource",
    "check_compatible",
    "send_route",
    "tap_receiver",
    "take_sender",
]

logger = logging.getLogger(__name__)

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"

PacketCallback = Callable[[RtpPacket, RTCRtpCodecParameters], None]
SrCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SenderReport:
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int


SenderReportSource = Callable[[], SenderReport | None]


def _private(obj: object, cls: type, name: str) -> Any:
    return getattr(obj, f"_{cls.__name__}__{name}")


def _set_private(obj: object, cls: type, name: str, value: object) -> None:
    setattr(obj, f"_{cls.__name__}__{name}", value)


_RECEIVER_FIELDS = ("codecs", "rtx_ssrc", "started", "remote_streams", "nack_generator",
                    "remote_bitrate_estimator", "rtcp_ssrc", "decoder_thread")
_SENDER_FIELDS = ("rtp_started", "rtp_exited", "rtcp_started", "rtcp_exited", "cname", "lsr", "lsr_time")


def check_compatible() -> None:
    """Raise if the installed aiortc lacks an internal this adapter relies on."""
    receiver = RTCRtpReceiver.__new__(RTCRtpReceiver)
    missing = [f for f in _RECEIVER_FIELDS if f"_RTCRtpReceiver__{f}" not in _init_names(RTCRtpReceiver)]
    missing += [f for f in _SENDER_FIELDS if f"_RTCRtpSender__{f}" not in _init_names(RTCRtpSender)]
    for name in ("_send_rtcp", "_send_rtcp_pli", "_send_rtcp_nack", "_run_rtcp", "_handle_rtp_packet"):
        if not hasattr(receiver, name):
            missing.append(name)
    for name in ("_tx_srtp", "_state", "_ssl", "_role", "_srtp_profiles"):
        if name not in _init_names(RTCDtlsTransport):
            missing.append(name)
    if not hasattr(RTCDtlsTransport, "_setup_srtp"):
        missing.append("RTCDtlsTransport._setup_srtp")
    if missing:
        raise RuntimeError(f"aiortc internals changed, media/aiortc_adapter.py needs updating: {missing}")


def _init_names(cls: type) -> set[str]:
    code = cls.__init__.__code__  # type: ignore[misc]
    return set(code.co_names)


class InboundTap:
    """Takes a receiver's packets before aiortc's jitter buffer and decoder."""

    def __init__(self, receiver: RTCRtpReceiver, on_packet: PacketCallback, on_sender_report: SrCallback) -> None:
        self._receiver = receiver
        self._on_packet = on_packet
        self._on_sender_report = on_sender_report
        self._tasks: set[asyncio.Task[None]] = set()
        self._original_rtcp = receiver._handle_rtcp_packet
        receiver.receive = self._receive  # type: ignore[method-assign]
        receiver._handle_rtp_packet = self._handle_rtp_packet  # type: ignore[method-assign]
        receiver._handle_rtcp_packet = self._handle_rtcp_packet  # type: ignore[method-assign]
        self.media_ssrc: int | None = None

    @property
    def kind(self) -> str:
        return self._receiver.track.kind

    def request_keyframe(self) -> None:
        """Send a PLI upstream for the stream being received."""
        if self.media_ssrc is None:
            return
        task = asyncio.ensure_future(self._receiver._send_rtcp_pli(self.media_ssrc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _receive(self, parameters: RTCRtpReceiveParameters) -> None:
        r = self._receiver
        if _private(r, RTCRtpReceiver, "started"):
            return
        codecs = _private(r, RTCRtpReceiver, "codecs")
        rtx_ssrc = _private(r, RTCRtpReceiver, "rtx_ssrc")
        for codec in parameters.codecs:
            codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx:
                rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        r.transport._register_rtp_receiver(r, parameters)
        _set_private(r, RTCRtpReceiver, "rtcp_task", asyncio.ensure_future(r._run_rtcp()))
        _set_private(r, RTCRtpReceiver, "started", True)

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        r = self._receiver
        if not r._enabled:
            return
        await self._estimate_bitrate(packet, arrival_time_ms)
        codecs: dict[int, RTCRtpCodecParameters] = _private(r, RTCRtpReceiver, "codecs")
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        streams = _private(r, RTCRtpReceiver, "remote_streams")
        stats = streams.get(packet.ssrc)
        if stats is None:
            stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)
        if is_rtx(codec):
            unwrapped = self._unwrap(packet, codec, codecs)
            if unwrapped is None:
                return
            packet, codec = unwrapped
        self.media_ssrc = packet.ssrc
        nack = _private(r, RTCRtpReceiver, "nack_generator")
        if nack is not None and nack.add(packet):
            await r._send_rtcp_nack(packet.ssrc, sorted(nack.missing))
        if packet.payload:
            self._on_packet(packet, codec)

    def _unwrap(self, packet: RtpPacket, codec: RTCRtpCodecParameters,
                codecs: dict[int, RTCRtpCodecParameters]) -> tuple[RtpPacket, RTCRtpCodecParameters] | None:
        original_ssrc = _private(self._receiver, RTCRtpReceiver, "rtx_ssrc").get(packet.ssrc)
        apt = codec.parameters.get("apt")
        if original_ssrc is None or len(packet.payload) < 2 or not isinstance(apt, int) or apt not in codecs:
            return None
        return unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc), codecs[apt]

    async def _estimate_bitrate(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        r = self._receiver
        estimator: RemoteBitrateEstimator | None = _private(r, RTCRtpReceiver, "remote_bitrate_estimator")
        if estimator is None or packet.extensions.abs_send_time is None:
            return
        remb = estimator.add(abs_send_time=packet.extensions.abs_send_time, arrival_time_ms=arrival_time_ms,
                             payload_size=len(packet.payload) + packet.padding_size, ssrc=packet.ssrc)
        rtcp_ssrc = _private(r, RTCRtpReceiver, "rtcp_ssrc")
        if rtcp_ssrc is not None and remb is not None:
            await r._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0,
                                              fci=pack_remb_fci(*remb)))

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        await self._original_rtcp(packet)
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            self._on_sender_report(info.ntp_timestamp, info.rtp_timestamp)


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketCallback, on_sender_report: SrCallback) -> InboundTap:
    """Install the inbound tap; call before the peer connection connects."""
    return InboundTap(receiver, on_packet, on_sender_report)


@dataclass(frozen=True, slots=True)
class _Route:
    """Everything one send needs, resolved once per ICE pair."""

    dtls: RTCDtlsTransport
    protect: Callable[[bytes], bytes]
    nominated: dict[int, Any]
    pair: Any
    sendto: Callable[[bytes, Any], None]
    addr: Any


@dataclass(frozen=True, slots=True)
class OutboundParameters:
    mime_type: str
    clock_rate: int
    payload_type: int
    ssrc: int
    extensions: list[tuple[int, bytes]]


SR_KEPT = 8  # sender reports remembered for round-trip matching (a receiver answers the last one it got)


class OutboundPort:
    """Writes pre-built RTP packets through a sender's DTLS/SRTP transport."""

    def __init__(self, sender: RTCRtpSender, *, on_nack: Callable[[list[int]], None],
                 on_keyframe_request: Callable[[], None], on_loss_report: Callable[[float], None],
                 sender_report: SenderReportSource,
                 on_parameters: Callable[[OutboundParameters], None],
                 on_round_trip: Callable[[float], None] = lambda rtt: None) -> None:
        self._sender = sender
        self._on_nack = on_nack
        self._on_keyframe_request = on_keyframe_request
        self._on_loss_report = on_loss_report
        self._on_round_trip = on_round_trip
        self._sent_reports: dict[int, float] = {}  # LSR (middle 32 bits of the SR's NTP time) -> when sent
        self._sender_report = sender_report
        self._on_parameters = on_parameters
        self._original_rtcp = sender._handle_rtcp_packet
        self._original_send = sender.send
        self._route: _Route | None = None
        sender.send = self._send_parameters  # type: ignore[method-assign]
        sender._run_rtp = self._idle_rtp  # type: ignore[method-assign]
        sender._run_rtcp = self._run_rtcp  # type: ignore[method-assign]
        sender._handle_rtcp_packet = self._handle_rtcp_packet  # type: ignore[method-assign]

    @property
    def ssrc(self) -> int:
        return self._sender._ssrc

    def send(self, data: bytes) -> bool:
        """Protect and send one RTP packet now; False when the transport cannot send
        (or SRTP refuses the packet: too long for pylibsrtp's buffer)."""
        route = self._route
        if route is None or route.dtls._state is not State.CONNECTED or route.nominated.get(1) is not route.pair:
            route = self._route = self._resolve()
            if route is None:
                return False
        try:
            protected = route.protect(data)
        except (SrtpError, ValueError):
            return False
        route.sendto(protected, route.addr)
        return True

    def route(self) -> fanout.Route | None:
        """The send path for a C fan-out leg, None while the transport cannot send."""
        dtls = self._sender.transport
        if dtls._state is not State.CONNECTED:
            return None
        nominated = dtls.transport._connection._nominated
        pair = nominated.get(1)
        if pair is None:
            return None
        session = dtls._tx_srtp
        protect_fn, srtp_ctx = fanout.srtp_pointers(session)
        transport = pair.protocol.transport
        fd, sockaddr = fanout.socket_target(transport, pair.remote_addr)
        return fanout.Route(protect_fn, srtp_ctx, session, fd, sockaddr, transport, pair.remote_addr,
                            dtls, "_state", State.CONNECTED, nominated, 1, pair)

    def _resolve(self) -> _Route | None:
        """Look the send path up again (first packet, ICE pair change, transport change)."""
        dtls = self._sender.transport
        if dtls._state is not State.CONNECTED:
            return None
        nominated = dtls.transport._connection._nominated
        pair = nominated.get(1)
        if pair is None:
            return None
        return _Route(dtls, dtls._tx_srtp.protect, nominated, pair, pair.protocol.transport.sendto, pair.remote_addr)

    async def _send_parameters(self, parameters: RTCRtpSendParameters) -> None:
        await self._original_send(parameters)
        codec = parameters.codecs[0]
        extensions = []
        for ext in parameters.headerExtensions:
            if ext.uri == MID_URI and parameters.muxId:
                extensions.append((ext.id, parameters.muxId.encode()))
        self._on_parameters(OutboundParameters(codec.mimeType.lower(), codec.clockRate, cast(int, codec.payloadType),
                                               self._sender._ssrc, extensions))

    async def _idle_rtp(self, codec: RTCRtpCodecParameters) -> None:
        _private(self._sender, RTCRtpSender, "rtp_started").set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        _private(self._sender, RTCRtpSender, "rtp_exited").set()

    async def _run_rtcp(self) -> None:
        s = self._sender
        _private(s, RTCRtpSender, "rtcp_started").set()
        try:
            while True:
                await asyncio.sleep(0.5 + random.random())
                await s._send_rtcp(self._report_packets())
        except asyncio.CancelledError:
            pass
        await s._send_rtcp([RtcpByePacket(sources=[s._ssrc])])
        _private(s, RTCRtpSender, "rtcp_exited").set()

    def _report_packets(self) -> list[Any]:
        s = self._sender
        packets: list[Any] = []
        report = self._sender_report()
        if report is not None:
            self._remember_report(report.ntp_timestamp)
            packets.append(RtcpSrPacket(ssrc=s._ssrc, sender_info=RtcpSenderInfo(
                ntp_timestamp=report.ntp_timestamp, rtp_timestamp=report.rtp_timestamp,
                packet_count=report.packet_count & 0xFFFFFFFF, octet_count=report.octet_count & 0xFFFFFFFF)))
        else:
            packets.append(RtcpRrPacket(ssrc=s._ssrc, reports=[]))
        cname = _private(s, RTCRtpSender, "cname")
        if cname is not None:
            packets.append(RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=s._ssrc, items=[(1, cname.encode())])]))
        return packets

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self._on_nack(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self._on_keyframe_request()
        elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            self._handle_reports(packet.reports)
            await self._original_rtcp(packet)

    def _remember_report(self, ntp_timestamp: int) -> None:
        self._sent_reports[(ntp_timestamp >> 16) & 0xFFFFFFFF] = time.monotonic()
        while len(self._sent_reports) > SR_KEPT:
            del self._sent_reports[next(iter(self._sent_reports))]

    def _handle_reports(self, reports: list[RtcpReceiverInfo]) -> None:
        for report in reports:
            if report.ssrc == self._sender._ssrc:
                self._on_loss_report(report.fraction_lost / 256.0)
                self._round_trip(report.lsr, report.dlsr)

    def _round_trip(self, lsr: int, dlsr: int) -> None:
        sent = self._sent_reports.get(lsr) if lsr else None
        if sent is not None:
            rtt = time.monotonic() - sent - dlsr / 65536.0
            self._on_round_trip(max(0.0, rtt))


@dataclass(frozen=True, slots=True)
class SendRoute:
    """What another process needs to send a sender's RTP itself: the SRTP key of the
    DTLS transport's outbound direction, and the ICE pair's UDP socket and peer address."""

    srtp_key: bytes
    """master key + salt, as aiortc's ``_setup_srtp`` gives its outbound ``Policy``"""
    srtp_profile: int
    """pylibsrtp's profile number (``Policy.SRTP_PROFILE_*``)"""
    fileno: int
    """the nominated pair's UDP socket in this process (dup it, do not close it)"""
    addr: tuple[str, int]


def send_route(sender: RTCRtpSender) -> SendRoute | None:
    """The send path of a connected sender, None before DTLS is up and a pair is nominated.

    The key is derived as ``RTCDtlsTransport._setup_srtp`` derives it (RFC 5764 section 4.2:
    the TLS exporter gives the same keying material every time it is asked).
    """
    dtls = sender.transport
    if dtls is None or dtls._state is not State.CONNECTED or dtls._ssl is None:
        return None
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return None
    sock = pair.protocol.transport.get_extra_info("socket")
    selected = dtls._ssl.get_selected_srtp_profile()
    profile = next((p for p in dtls._srtp_profiles if p.openssl_profile == selected), None)
    if sock is None or sock.type != socket.SOCK_DGRAM or profile is None:
        return None  # a TURN relay (aioice's TurnTransport has no socket) or a TCP pair stays in-process
    view = dtls._ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (profile.key_length + profile.salt_length))
    key = profile.get_key_and_salt(view, 1 if dtls._role == "server" else 0)
    return SendRoute(bytes(key), profile.libsrtp_profile, sock.fileno(),
                     (str(pair.remote_addr[0]), int(pair.remote_addr[1])))


def take_sender(sender: RTCRtpSender, **callbacks: Any) -> OutboundPort:
    """Turn a sender into a relay output; call before negotiation completes."""
    return OutboundPort(sender, **callbacks)
