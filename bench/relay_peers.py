"""Load-generator processes for the relay benchmark.

``publisher_main``: one aiortc peer that WHIP-publishes pre-encoded 720p VP8 +
Opus (no live encoding), answers PLI/FIR by jumping to the next keyframe of the
clip, and logs (RTP timestamp, wallclock) for the first packet of every video
frame it sends.

``subscriber_main``: many aiortc peers that WHEP-watch without decoding (the
media package's inbound tap), count packets and sequence gaps, time the first
keyframe and log (RTP timestamp, wallclock) per video frame during a window.

Both are driven by the parent over a multiprocessing Pipe: the parent sends
(command, args) tuples and receives exactly one reply per command.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import os
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

VIDEO_TB = fractions.Fraction(1, 90000)
AUDIO_TB = fractions.Fraction(1, 48000)
HTTP_TIMEOUT = 20.0
# subscribers: the cheap RTP receive path (FastReceive); RELAY_BENCH_SLOW_RX=1 keeps aiortc's own
FAST_RX = os.environ.get("RELAY_BENCH_SLOW_RX", "") in ("", "0")


def _install_loop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover
        pass


def _ice_config() -> Any:
    from aiortc import RTCConfiguration

    return RTCConfiguration(iceServers=[])  # host candidates only: no STUN lookups


async def _serve_pipe(conn: Any, handlers: dict[str, Callable[..., Any]]) -> None:
    """Run commands from the parent one at a time until "exit" or the pipe closes."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def readable() -> None:
        try:
            queue.put_nowait(conn.recv())
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            queue.put_nowait(("exit", {}))

    loop.add_reader(conn.fileno(), readable)
    # uvloop's add_reader makes the fd non-blocking: a large reply (collect) then fails with EAGAIN
    # once the pipe buffer is full, and a partly arrived command would read as EOF. Keep it blocking
    # (the reader only fires when data is there) and send replies from a thread so the loop runs on.
    os.set_blocking(conn.fileno(), True)

    async def reply(message: Any) -> None:
        await loop.run_in_executor(None, conn.send, message)

    while True:
        command, args = await queue.get()
        if command == "exit":
            handler = handlers.get("exit")
            if handler is not None:
                try:  # noqa: SIM105
                    await asyncio.wait_for(handler(), 10)
                except Exception:  # noqa: BLE001
                    pass
            with contextlib.suppress(OSError, BrokenPipeError):
                conn.send(("ok", None))
            return
        try:
            result = await handlers[command](**args)
        except Exception as exc:  # noqa: BLE001
            await reply(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        else:
            await reply(("ok", result))


def _run(conn: Any, make_handlers: Callable[[], dict[str, Callable[..., Any]]]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and tells us to exit
    logging.basicConfig(level=logging.WARNING)
    _install_loop()

    async def main() -> None:
        await _serve_pipe(conn, make_handlers())

    asyncio.run(main())


# --------------------------------------------------------------------------- publisher


def publisher_main(conn: Any, bitrate: int | None = None) -> None:
    _run(conn, lambda: Publisher(bitrate).handlers())


class Publisher:
    def __init__(self, bitrate: int | None = None) -> None:
        from relay_media import load_media

        self.media = load_media() if bitrate is None else load_media(bitrate=bitrate)
        self.pc: Any = None
        self.location: str | None = None
        self.base_url = ""
        self.token = ""
        self.video_ssrc: int | None = None
        self.frames: list[tuple[int, float]] = []  # (rtp ts, first send time) of each video frame
        self.last_ts: int | None = None
        self.video_bytes = 0
        self.video_packets = 0
        self.audio_packets = 0
        self.keyframe_requests = 0
        self.video_track: Any = None

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {"start": self.start, "stats": self.stats, "frames": self.frames_between, "exit": self.close}

    async def start(self, url: str, token: str | None, pace: float = 0.0) -> dict:
        """Publish by WHIP. ``pace`` > 0 paces video like libwebrtc's pacer: packets leave
        at ``pace`` times the clip's bitrate instead of in one burst per frame."""
        import httpx
        from aiortc import RTCPeerConnection, RTCSessionDescription
        from aiortc.rtcdtlstransport import RTCDtlsTransport

        publisher = self
        original = RTCDtlsTransport._send_rtp
        pace_bps = pace * self.media["video_bps"]
        next_send = 0.0

        async def send_rtp(transport: RTCDtlsTransport, data: bytes) -> None:
            nonlocal next_send
            # plaintext RTP before SRTP protection: log the first packet of each video frame
            if len(data) >= 12:
                ssrc = int.from_bytes(data[8:12], "big")
                if ssrc == publisher.video_ssrc:
                    if pace_bps > 0:
                        now = time.monotonic()
                        next_send = max(now, next_send)
                        if next_send > now:
                            await asyncio.sleep(next_send - now)
                        next_send += len(data) * 8 / pace_bps
                    ts = int.from_bytes(data[4:8], "big")
                    last = publisher.last_ts
                    if last is None or 0 < ((ts - last) & 0xFFFFFFFF) < 0x80000000:
                        publisher.last_ts = ts
                        publisher.frames.append((ts, time.time()))
                    publisher.video_packets += 1
                    publisher.video_bytes += len(data)
                else:
                    publisher.audio_packets += 1
            await original(transport, data)

        # this process has exactly one peer connection
        RTCDtlsTransport._send_rtp = send_rtp  # type: ignore[method-assign, assignment]

        self.pc = pc = RTCPeerConnection(_ice_config())
        self.video_track = video = PacketVideoTrack(self.media["video"])
        audio = PacketAudioTrack(self.media["audio"])
        pc.addTransceiver(audio, direction="sendonly")
        video_tx = pc.addTransceiver(video, direction="sendonly")
        self._hook_pli(video_tx.sender, video)
        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
            resp = await client.post(url, content=pc.localDescription.sdp, headers=headers)
        if resp.status_code != 201:
            raise RuntimeError(f"WHIP {url} -> {resp.status_code} {resp.text[:300]}")
        self.location = resp.headers.get("location")
        self.base_url = url.split("/whip/")[0]
        self.token = token or ""
        await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.text, type="answer"))
        self.video_ssrc = video_tx.sender._ssrc
        deadline = time.monotonic() + 10
        while pc.connectionState != "connected":
            if time.monotonic() > deadline or pc.connectionState in ("failed", "closed"):
                raise RuntimeError(f"publisher connection state {pc.connectionState}")
            await asyncio.sleep(0.05)
        return {"location": self.location, "clip_bps": self.media["video_bps"]}

    def _hook_pli(self, sender: Any, track: PacketVideoTrack) -> None:
        from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket

        original = sender._handle_rtcp_packet
        publisher = self

        async def handle(packet: Any) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                publisher.keyframe_requests += 1
                track.keyframe_requested = True
            await original(packet)

        sender._handle_rtcp_packet = handle

    async def stats(self) -> dict:
        return {"time": time.time(), "video_bytes": self.video_bytes, "video_packets": self.video_packets,
                "audio_packets": self.audio_packets, "frames": len(self.frames),
                "keyframe_requests": self.keyframe_requests,
                "keyframes_sent": self.video_track.keyframes_sent if self.video_track else 0,
                "state": self.pc.connectionState if self.pc else None}

    async def frames_between(self, start: float, end: float) -> list[tuple[int, float]]:
        return [(ts, t) for ts, t in self.frames if start <= t <= end]

    async def close(self) -> None:
        if self.location:
            try:
                import httpx

                headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
                async with httpx.AsyncClient(timeout=5) as client:
                    await client.delete(self.base_url + self.location, headers=headers)
            except Exception:  # noqa: BLE001
                pass
        if self.pc is not None:
            await self.pc.close()


def _media_track_base() -> type:
    from aiortc import MediaStreamTrack

    return MediaStreamTrack


class PacketVideoTrack(_media_track_base()):  # type: ignore[misc]
    """Replays pre-encoded VP8 frames in real time; a keyframe request jumps to the next keyframe."""

    kind = "video"

    def __init__(self, frames: list[tuple[bytes, bool]], fps: int = 30) -> None:
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.keys = [i for i, (_, key) in enumerate(frames) if key]
        self.pos = 0
        self.index = 0
        self.start: float | None = None
        self.keyframe_requested = False
        self.keyframes_sent = 0

    async def recv(self) -> Any:
        import av

        if self.start is None:
            self.start = time.monotonic()
        target = self.start + self.index / self.fps
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:  # far behind (stalled loop): resync instead of bursting
            self.start = time.monotonic() - self.index / self.fps
        if self.keyframe_requested:
            self.keyframe_requested = False
            if not self.frames[self.pos][1]:
                self.pos = next((k for k in self.keys if k >= self.pos), self.keys[0])
        data, key = self.frames[self.pos]
        self.keyframes_sent += key
        packet = av.Packet(data)
        # a fixed pseudo-random jitter (< 12 ms) on the RTP timestamp makes the sequence of timestamp
        # differences a fingerprint, so subscribers align to the publisher unambiguously
        packet.pts = self.index * (90000 // self.fps) + (self.index * 2654435761 >> 7) % 1000
        packet.time_base = VIDEO_TB
        self.index += 1
        self.pos = (self.pos + 1) % len(self.frames)
        return packet


class PacketAudioTrack(_media_track_base()):  # type: ignore[misc]
    """Replays pre-encoded 20 ms Opus packets in real time."""

    kind = "audio"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets = packets
        self.index = 0
        self.start: float | None = None

    async def recv(self) -> Any:
        import av

        if self.start is None:
            self.start = time.monotonic()
        target = self.start + self.index * 0.02
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            self.start = time.monotonic() - self.index * 0.02
        packet = av.Packet(self.packets[self.index % len(self.packets)])
        packet.pts = self.index * 960
        packet.time_base = AUDIO_TB
        self.index += 1
        return packet


# --------------------------------------------------------------------------- subscribers


class SeqTracker:
    """Loss on one SSRC in extended sequence space; late (retransmitted) packets fill their gap."""

    __slots__ = ("first", "highest", "received", "missing", "duplicates", "big_gaps")

    def __init__(self, seq: int) -> None:
        self.first = seq
        self.highest = seq
        self.received = 1
        self.missing: set[int] = set()
        self.duplicates = 0
        self.big_gaps: list[tuple[int, int]] = []  # (first missing, last missing) for huge gaps

    def add(self, seq: int) -> None:
        highest = self.highest
        delta = (seq - highest) & 0xFFFF
        if delta == 0:
            self.duplicates += 1
            return
        if delta < 0x8000:
            ext = highest + delta
            if delta > 1:
                if delta > 2000:
                    self.big_gaps.append((highest + 1, ext - 1))
                else:
                    self.missing.update(range(highest + 1, ext))
            self.highest = ext
            self.received += 1
        else:
            ext = highest - (0x10000 - delta)
            if ext in self.missing:
                self.missing.discard(ext)
                self.received += 1
            else:
                self.duplicates += 1

    def lost_between(self, low: int, high: int) -> int:
        """Packets still missing with extended seq in (low, high]."""
        lost = sum(1 for s in self.missing if low < s <= high)
        for a, b in self.big_gaps:
            lo, hi = max(a, low + 1), min(b, high)
            if hi >= lo:
                lost += hi - lo + 1
        return lost


class FastReceive:
    """Cheap inbound RTP path for one subscriber peer (subscriber processes only).

    aiortc handles every datagram with: aioice ``StunProtocol.datagram_received`` (a STUN parse
    attempt that raises) -> ``asyncio.Queue`` -> the DTLS transport's receive task wakes ->
    ``_recv_next`` -> SRTP unprotect -> ``RtpPacket.parse`` (header extensions included) ->
    ``RtpRouter`` -> the receiver (tap: statistics, NACK generator, bitrate estimator) -> callback.
    This replaces that, for SRTP *RTP* datagrams only, by one synchronous call in the socket's
    ``datagram_received``: libsrtp unprotect into the session's own buffer, a fixed-header parse
    (CSRC count, extension length and padding give the payload bounds), routing by payload type
    and the subscriber's counters. Everything else (STUN, DTLS, SRTCP) still takes aiortc's path,
    so sender reports reach the receivers as before.

    Kept from aiortc's receive side, with the same rules: per-SSRC receiver statistics fed into
    the receiver's own ``remote_streams`` (so aiortc's RTCP loop still sends receiver reports),
    video NACKs (aiortc's ``NackGenerator``: every gap sends the sorted missing set, at most the
    last 128 seqs), RTX unwrapping, drops of undecryptable / replayed / malformed / unknown-PT /
    empty-payload packets. Dropped: header extensions (the SFU sends only MID, which aiortc used
    for routing; payload types are unambiguous here) and the REMB estimator (it runs only on
    abs-send-time, which the SFU does not send) and aiortc's transport byte counters (getStats).
    """

    __slots__ = ("sub", "dtls", "routes", "protocols", "session", "srtp", "cdata", "buffer", "len_p",
                 "unprotect", "streams", "nack", "loop", "errors")

    def __init__(self, sub: Sub, pc: Any) -> None:
        self.sub = sub
        self.dtls: Any = None
        # payload type -> (kind, receiver, apt or None for media / apt for RTX, clock rate)
        self.routes: dict[int, tuple[str, Any, int | None, int]] = {}
        for transceiver in pc.getTransceivers():
            receiver = transceiver.receiver
            self.dtls = receiver.transport
            for codec in transceiver._codecs:
                apt = codec.parameters.get("apt") if codec.mimeType.lower().endswith("/rtx") else None
                self.routes[codec.payloadType] = (transceiver.kind, receiver, apt, codec.clockRate)
        self.protocols = list(self.dtls.transport._connection._protocols)
        self.session: Any = None
        self.srtp: Any = None
        self.cdata: Any = None
        self.buffer: Any = None
        self.len_p: Any = None
        self.unprotect: Any = None
        self.streams: dict[int, Any] = {}  # ssrc -> receiver statistics (aiortc StreamStatistics)
        self.nack: dict[int, list[Any]] = {}  # video ssrc -> [max seq, missing set]
        self.loop = asyncio.get_running_loop()
        self.errors = 0
        for protocol in self.protocols:
            protocol.datagram_received = self._wrap(protocol.datagram_received)

    def close(self) -> None:
        for protocol in self.protocols:
            with contextlib.suppress(AttributeError):
                del protocol.datagram_received  # back to the class's method
        self.protocols = []

    def _bind(self) -> bool:
        from pylibsrtp import ffi, lib

        session = self.dtls._rx_srtp
        if session is None:
            return False
        self.session = session  # keeps the srtp_t alive
        self.srtp = session._srtp[0]
        self.cdata = session._cdata
        self.buffer = session._buffer
        self.len_p = ffi.new("int *")
        self.unprotect = lib.srtp_unprotect
        return True

    def _wrap(self, original: Callable[[bytes, Any], None]) -> Callable[[bytes, Any], None]:
        def datagram_received(data: bytes, addr: Any) -> None:
            first = data[0]
            # SRTP RTP: first byte 128..191 and not SRTCP (aiortc's is_rtcp: second byte 192..208)
            if 127 < first < 192 and len(data) >= 12 and not 191 < data[1] < 209 and (
                    self.srtp is not None or self._bind()):
                try:
                    self.rtp(data)
                except Exception:  # noqa: BLE001 - never let a bench bug close the socket
                    self.errors += 1
                    if self.errors <= 3:
                        logging.getLogger("relay_peers").exception("fast RTP path")
                return
            original(data, addr)
        return datagram_received

    def rtp(self, data: bytes) -> None:
        n = len(data)
        if n > 1500:
            return
        len_p = self.len_p
        len_p[0] = n
        self.buffer[0:n] = data
        if self.unprotect(self.srtp, self.cdata, len_p):  # auth failure, replay (duplicate), ...
            return
        data = self.buffer[0:len_p[0]]
        n = len(data)
        b0, b1, seq, ts, ssrc = _RTP_HEADER.unpack_from(data)
        if b0 >> 6 != 2:
            return
        start = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            if n < start + 4:
                return
            start += 4 + 4 * int.from_bytes(data[start + 2:start + 4], "big")
        if start > n:
            return
        end = n
        if b0 & 0x20:
            pad = data[-1]
            if not pad or pad > n - start:
                return
            end = n - pad
        route = self.routes.get(b1 & 0x7F)
        if route is None:
            return
        kind, receiver, apt, clock_rate = route
        stats = self.streams.get(ssrc)
        if stats is None:
            stats = self.streams[ssrc] = self._stats(receiver, ssrc, clock_rate)
        stats.add_seq(seq, ts)
        if apt is not None:  # RTX: original seq in the first two payload bytes, original SSRC from the SDP
            original_ssrc = _private_attr(receiver, "rtx_ssrc").get(ssrc)
            if original_ssrc is None or end - start < 2 or apt not in self.routes:
                return
            seq = int.from_bytes(data[start:start + 2], "big")
            start += 2
            ssrc = original_ssrc
        if kind == "video":
            state = self.nack.get(ssrc)
            if state is None:
                self.nack[ssrc] = [seq, set()]
            else:
                self._nack(receiver, ssrc, state, seq)
            if end > start:
                self.sub.rx_video(ssrc, seq, ts, data, start, end)
        elif end > start:
            self.sub.rx_audio(ssrc, seq, end - start)

    def _stats(self, receiver: Any, ssrc: int, clock_rate: int) -> Any:
        stats = FastStreamStatistics(clock_rate)
        # aiortc's RTCP loop turns these into receiver report blocks
        _private_attr(receiver, "remote_streams")[ssrc] = stats
        return stats

    def _nack(self, receiver: Any, ssrc: int, state: list[Any], seq: int) -> None:
        """aiortc's NackGenerator.add + truncate, and the NACK it triggers."""
        highest, missing = state
        delta = (seq - highest) & 0xFFFF
        if 0 < delta < 0x8000:
            state[0] = seq
            if delta == 1 and not missing:
                return
            missed = delta > 1
            if missed:
                missing.update((highest + i) & 0xFFFF for i in range(1, delta))
        else:
            if not missing:
                return
            missing.discard(seq)
            missed = False
        low = (state[0] - 128) & 0xFFFF  # RTP_HISTORY_SIZE
        for s in [s for s in missing if 0 < ((low - s) & 0xFFFF) < 0x8000]:
            missing.discard(s)
        if missed and missing:
            self.loop.create_task(receiver._send_rtcp_nack(ssrc, sorted(missing)))


def _private_attr(receiver: Any, name: str) -> Any:
    return getattr(receiver, f"_RTCRtpReceiver__{name}")


_RTP_HEADER = struct.Struct("!BBHII")


def _stream_statistics_base() -> type:
    from aiortc.rtcrtpreceiver import StreamStatistics

    return StreamStatistics


if TYPE_CHECKING:
    from aiortc.rtcrtpreceiver import StreamStatistics as _StreamStatistics
else:
    _StreamStatistics = _stream_statistics_base()


class FastStreamStatistics(_StreamStatistics):
    """aiortc's StreamStatistics.add on header fields instead of a parsed RtpPacket."""

    def add_seq(self, seq: int, ts: int) -> None:
        max_seq = self.max_seq
        self.packets_received += 1
        if self.base_seq is None:
            self.base_seq = seq
        if max_seq is None or 0 < ((seq - max_seq) & 0xFFFF) < 0x8000:
            arrival = int(time.time() * self._clockrate)
            if max_seq is not None and seq < max_seq:
                self.cycles += 1 << 16
            self.max_seq = seq
            last_arrival, last_ts = self._last_arrival, self._last_timestamp
            if last_arrival is not None and last_ts is not None and ts != last_ts:  # not the first packet
                diff = abs((arrival - last_arrival) - (ts - last_ts))
                self._jitter_q4 += diff - ((self._jitter_q4 + 8) >> 4)
            self._last_arrival = arrival
            self._last_timestamp = ts


class Sub:
    __slots__ = ("index", "pc", "location", "t0", "first_video", "first_packet", "packets", "bytes",
                 "trackers", "recording", "frames", "last_ts", "mark", "end", "error", "taps",
                 "answered", "connected", "fast", "token")

    def __init__(self, index: int) -> None:
        self.index = index
        self.token: str | None = None
        self.pc: Any = None
        self.location: str | None = None
        self.t0 = 0.0
        self.first_video: float | None = None  # seconds from WHEP POST to the first keyframe packet
        self.first_packet: float | None = None
        self.packets = {"audio": 0, "video": 0}
        self.bytes = 0
        self.trackers: dict[str, dict[int, SeqTracker]] = {"audio": {}, "video": {}}
        self.recording = False
        self.frames: list[tuple[int, float, bool]] = []  # (rtp ts, arrival time, starts a keyframe)
        self.last_ts: int | None = None
        self.mark: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.error: str | None = None
        self.taps: list[Any] = []
        self.answered: float | None = None  # seconds from WHEP POST to the 201 answer
        self.connected: float | None = None  # ... to connectionState "connected" (ICE + DTLS done)
        self.fast: FastReceive | None = None

    def on_video(self, packet: Any, codec: Any) -> None:
        now = time.time()
        self.packets["video"] += 1
        payload = packet.payload
        self.bytes += len(payload)
        trackers = self.trackers["video"]
        tracker = trackers.get(packet.ssrc)
        if tracker is None:
            trackers[packet.ssrc] = SeqTracker(packet.sequence_number)
        else:
            tracker.add(packet.sequence_number)
        ts = packet.timestamp
        last = self.last_ts
        if last is None or 0 < ((ts - last) & 0xFFFFFFFF) < 0x80000000:
            self.last_ts = ts
            if self.recording:
                self.frames.append((ts, now, vp8_starts_keyframe(payload)))
        if self.first_video is None:
            if self.first_packet is None:
                self.first_packet = now - self.t0
            if vp8_starts_keyframe(payload):
                self.first_video = now - self.t0

    def rx_video(self, ssrc: int, seq: int, ts: int, data: bytes, start: int, end: int) -> None:
        """``on_video`` for the fast receive path: header fields already parsed, payload is
        ``data[start:end]``; the wallclock is read only when a timing is recorded."""
        self.packets["video"] += 1
        self.bytes += end - start
        tracker = self.trackers["video"].get(ssrc)
        if tracker is None:
            self.trackers["video"][ssrc] = SeqTracker(seq)
        else:
            tracker.add(seq)
        last = self.last_ts
        if last is None or 0 < ((ts - last) & 0xFFFFFFFF) < 0x80000000:
            self.last_ts = ts
            if self.recording:
                self.frames.append((ts, time.time(), vp8_starts_keyframe(data[start:end])))
        if self.first_video is None:
            now = time.time()
            if self.first_packet is None:
                self.first_packet = now - self.t0
            if vp8_starts_keyframe(data[start:end]):
                self.first_video = now - self.t0

    def rx_audio(self, ssrc: int, seq: int, size: int) -> None:
        self.packets["audio"] += 1
        self.bytes += size
        tracker = self.trackers["audio"].get(ssrc)
        if tracker is None:
            self.trackers["audio"][ssrc] = SeqTracker(seq)
        else:
            tracker.add(seq)

    def on_audio(self, packet: Any, codec: Any) -> None:
        self.packets["audio"] += 1
        self.bytes += len(packet.payload)
        trackers = self.trackers["audio"]
        tracker = trackers.get(packet.ssrc)
        if tracker is None:
            trackers[packet.ssrc] = SeqTracker(packet.sequence_number)
        else:
            tracker.add(packet.sequence_number)

    def snapshot(self) -> dict[str, Any]:
        return {
            "packets": dict(self.packets),
            "bytes": self.bytes,
            "highest": {kind: {ssrc: t.highest for ssrc, t in trackers.items()}
                        for kind, trackers in self.trackers.items()},
        }


def vp8_starts_keyframe(payload: bytes) -> bool:  # replaced by the media package's at import
    return False


def subscriber_main(conn: Any, worker: int) -> None:
    global vp8_starts_keyframe
    from media.codecs import vp8_starts_keyframe as detector

    vp8_starts_keyframe = detector
    _run(conn, lambda: SubscriberPool(worker).handlers())


class SubscriberPool:
    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.subs: list[Sub] = []
        self.client: Any = None
        self.base_url = ""

        self.lags: list[float] = []
        self.lag_recording = False
        self.lag_task: asyncio.Task[None] | None = None

    async def _lag_monitor(self) -> None:
        """Event-loop lag of this load-generator process: how late a 5 ms sleep wakes up."""
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            if self.lag_recording:
                self.lags.append(time.perf_counter() - before - 0.005)

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {"start": self.start, "status": self.status, "mark": self.mark_start, "end": self.mark_end,
                "collect": self.collect, "stop": self.stop, "exit": self.stop}

    async def start(self, url: str, token: str | list[str] | None, count: int, first_index: int,
                    concurrency: int = 8) -> dict:
        """Connect ``count`` subscribers; ``token`` is one per subscriber (a list) or shared."""
        import httpx

        if self.client is None:
            self.client = httpx.AsyncClient(timeout=HTTP_TIMEOUT,
                                            limits=httpx.Limits(max_connections=concurrency * 2))
        self.base_url = url.split("/whep/")[0]
        tokens = token if isinstance(token, list) else [token] * count
        semaphore = asyncio.Semaphore(concurrency)
        subs = [Sub(first_index + i) for i in range(count)]
        for sub, own in zip(subs, tokens, strict=True):
            sub.token = own
        self.subs.extend(subs)

        async def one(sub: Sub) -> None:
            async with semaphore:
                try:
                    await self._connect(sub, url, sub.token)
                except Exception as exc:  # noqa: BLE001
                    sub.error = f"{type(exc).__name__}: {exc}"

        await asyncio.gather(*(one(s) for s in subs))
        errors = [s.error for s in subs if s.error]
        return {"started": count - len(errors), "errors": errors[:5]}

    async def _connect(self, sub: Sub, url: str, token: str | None) -> None:
        from aiortc import RTCPeerConnection, RTCSessionDescription

        from media.aiortc_adapter import tap_receiver

        sub.pc = pc = RTCPeerConnection(_ice_config())
        audio = pc.addTransceiver("audio", direction="recvonly")
        video = pc.addTransceiver("video", direction="recvonly")
        sub.taps = [tap_receiver(audio.receiver, sub.on_audio, _ignore_sr),
                    tap_receiver(video.receiver, sub.on_video, _ignore_sr)]
        await pc.setLocalDescription(await pc.createOffer())
        headers = {"Content-Type": "application/sdp"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        sub.t0 = time.time()
        resp = await self.client.post(url, content=pc.localDescription.sdp, headers=headers)
        if resp.status_code != 201:
            raise RuntimeError(f"WHEP -> {resp.status_code} {resp.text[:200]}")
        sub.answered = time.time() - sub.t0
        sub.location = resp.headers.get("location")

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and sub.connected is None:
                sub.connected = time.time() - sub.t0
        await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.text, type="answer"))
        if FAST_RX:  # after the answer (negotiated payload types, bundled transport), before DTLS connects
            sub.fast = FastReceive(sub, pc)

    async def status(self) -> dict:
        live = [s for s in self.subs if s.error is None]
        return {"subs": len(self.subs), "errors": len(self.subs) - len(live),
                "video": sum(1 for s in live if s.first_video is not None),
                "connected": sum(1 for s in live if s.pc is not None and s.pc.connectionState == "connected")}

    async def mark_start(self) -> float:
        if self.lag_task is None:
            self.lag_task = asyncio.ensure_future(self._lag_monitor())
        self.lags = []
        self.lag_recording = True
        for sub in self.subs:
            sub.frames = []
            sub.recording = True
            sub.mark = sub.snapshot()
        return time.time()

    async def mark_end(self) -> float:
        self.lag_recording = False
        for sub in self.subs:
            sub.recording = False
            sub.end = sub.snapshot()
        return time.time()

    async def collect(self) -> list[dict]:
        """Per subscriber: window deltas, loss (counted now, so late retransmissions fill gaps), frames."""
        lags = sorted(self.lags)
        out: list[dict[str, Any]] = [{"loop_lag": {"p50": lags[len(lags) // 2] if lags else None,
                             "p99": lags[int(len(lags) * 0.99)] if lags else None,
                             "max": lags[-1] if lags else None}}]
        for sub in self.subs:
            if sub.mark is None or sub.end is None:
                continue
            expected = lost = 0
            per_kind = {}
            for kind, trackers in sub.trackers.items():
                k_expected = k_lost = 0
                for ssrc, tracker in trackers.items():
                    low = sub.mark["highest"][kind].get(ssrc, tracker.first - 1)
                    high = sub.end["highest"][kind].get(ssrc)
                    if high is None:
                        continue
                    k_expected += high - low
                    k_lost += tracker.lost_between(low, high)
                per_kind[kind] = {"expected": k_expected, "lost": k_lost,
                                  "packets": sub.end["packets"][kind] - sub.mark["packets"][kind]}
                expected += k_expected
                lost += k_lost
            out.append({
                "index": sub.index,
                "error": sub.error,
                "first_video_s": sub.first_video,
                "first_packet_s": sub.first_packet,
                "answered_s": sub.answered,
                "connected_s": sub.connected,
                "bytes": sub.end["bytes"] - sub.mark["bytes"],
                "expected": expected,
                "lost": lost,
                "kinds": per_kind,
                "duplicates": sum(t.duplicates for ts in sub.trackers.values() for t in ts.values()),
                "frames": sub.frames,
            })
        return out

    async def stop(self) -> dict:
        subs, self.subs = self.subs, []

        async def one(sub: Sub) -> None:
            if sub.location and self.client is not None:
                headers = {"Authorization": f"Bearer {sub.token}"} if sub.token else {}
                try:  # noqa: SIM105
                    await self.client.delete(self.base_url + sub.location, headers=headers)
                except Exception:  # noqa: BLE001
                    pass
            if sub.fast is not None:
                sub.fast.close()
            for tap in sub.taps:
                try:  # noqa: SIM105
                    await tap.close()
                except Exception:  # noqa: BLE001
                    pass
            if sub.pc is not None:
                try:  # noqa: SIM105
                    await asyncio.wait_for(sub.pc.close(), 5)
                except Exception:  # noqa: BLE001
                    pass

        semaphore = asyncio.Semaphore(16)

        async def limited(sub: Sub) -> None:
            async with semaphore:
                await one(sub)

        await asyncio.gather(*(limited(s) for s in subs))
        await asyncio.sleep(0.2)  # let cancelled tasks of the closed peers finish
        # what is left running here besides the pipe server and the lag monitor would load later rounds
        return {"stopped": len(subs), "tasks_left": len(asyncio.all_tasks()) - 1 - (self.lag_task is not None)}


def _ignore_sr(ntp: int, rtp: int) -> None:
    pass
