"""One WHEP viewer process for the weak-link harness: real headless Chromium or an aiortc peer.

    [ip netns exec NS] python bench/weak_link_viewer.py --kind chromium|aiortc --origin http://H:P \\
        --url http://H:P/whep/LESSON --token T [--interval 0.25] [--ice-servers-from-server]

With ``--ice-servers-from-server`` it first asks the server for its ICE servers (``GET
/api/ice-servers``: TURN URLs with a credential issued for this token), as the pages do; without,
it offers host candidates only.

It watches the lesson and writes one JSON object per line on stdout, every ``interval`` seconds,
until stdin closes (its parent's way to stop it):

    {"type": "sample", "t": <unix time>, "state": "connected", "connected_at": <unix time> | null,
     "video": {framesDecoded, freezeCount, totalFreezesDuration, frameWidth, frameHeight,
               keyFramesDecoded, pliCount, nackCount, packetsReceived, packetsLost, bytesReceived},
     "audio": {concealedSamples, totalSamplesReceived, packetsReceived, packetsLost, bytesReceived},
     "pair": {"local": "relay udp 10.231.4.1 tcp", "remote": "host udp 10.231.4.1"} | null}
    {"type": "error", "message": "..."}

Chromium's figures are its own ``RTCPeerConnection.getStats()``. aiortc has no such figures for
decoding, so its viewer decodes every frame and computes them the same way: freezes by the
definition of the W3C stats spec (a frame later than max(3 x the mean frame interval, mean + 150 ms)),
keyframes from the VP8 frame tag, and audio concealment as the share of Opus packets that never
arrived (aiortc conceals nothing: a lost packet is a 20 ms gap).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import deque
from typing import Any

VIDEO_KEYS = ("framesDecoded", "freezeCount", "totalFreezesDuration", "frameWidth", "frameHeight",
              "keyFramesDecoded", "pliCount", "nackCount", "packetsReceived", "packetsLost", "bytesReceived")
AUDIO_KEYS = ("concealedSamples", "totalSamplesReceived", "packetsReceived", "packetsLost", "bytesReceived")


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def pick(stats: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any]:
    stats = stats or {}
    return {key: stats.get(key, 0) or 0 for key in keys}


async def stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def sample_until_stopped(read: Any, interval: float) -> None:
    stop = asyncio.ensure_future(stdin_closed())
    try:
        while not stop.done():
            try:
                emit({"type": "sample", "t": time.time(), **await read()})
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
                emit({"type": "error", "message": f"stats: {type(exc).__name__}: {exc}"})
            await asyncio.wait([stop], timeout=interval)
    finally:
        stop.cancel()


# --------------------------------------------------------------------------- Chromium

WATCH = """async ({url, token, iceServers}) => {
  const pc = new RTCPeerConnection({iceServers});
  window.pc = pc; window.connectedAt = null;
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected" && window.connectedAt === null) window.connectedAt = Date.now() / 1000;
  });
  pc.addTransceiver("video", {direction: "recvonly"});
  pc.addTransceiver("audio", {direction: "recvonly"});
  pc.ontrack = event => {
    const element = document.createElement(event.track.kind);
    element.autoplay = true; element.muted = event.track.kind === "video";
    element.srcObject = new MediaStream([event.track]);
    document.body.appendChild(element);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(resolve => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
  });
  const res = await fetch(url, {method: "POST", body: pc.localDescription.sdp,
    headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + token}});
  if (res.status !== 201) throw new Error("WHEP " + res.status + " " + await res.text());
  window.resource = new URL(res.headers.get("Location"), url).href;
  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
}"""

ICE_SERVERS = """async ({origin, token}) => {
  const res = await fetch(origin + "/api/ice-servers", {headers: {"Authorization": "Bearer " + token}});
  if (res.status !== 200) throw new Error("ice-servers " + res.status);
  return (await res.json()).ice_servers;
}"""

LEAVE = """async ({token}) => {
  window.pc.close();
  if (window.resource) await fetch(window.resource, {method: "DELETE", headers: {"Authorization": "Bearer " + token}});
}"""

STATS = """async () => {
  const out = {state: window.pc.connectionState, connected_at: window.connectedAt, pair: null};
  const report = await window.pc.getStats();
  const describe = id => {
    const c = report.get(id);
    return c ? `${c.candidateType} ${c.protocol} ${c.address}${c.relayProtocol ? " " + c.relayProtocol : ""}` : null;
  };
  report.forEach(s => {
    if (s.type === "inbound-rtp") out[s.kind] = s;
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const p = report.get(s.selectedCandidatePairId);
      if (p) out.pair = {local: describe(p.localCandidateId), remote: describe(p.remoteCandidateId)};
    }
  });
  return out;
}"""

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
        "--disable-features=WebRtcHideLocalIpsWithMdns"]
TURN_ARGS = ["--ignore-certificate-errors"]  # the harness's coturn has a self-signed certificate (for turns:)


def only(args: argparse.Namespace, ice_servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The server's ICE servers whose URL starts with ``--only-ice`` (all without it)."""
    return [entry for entry in ice_servers if entry["urls"].startswith(args.only_ice or "")]


async def chromium_viewer(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        extra = TURN_ARGS if args.ice_servers_from_server else []
        browser = await playwright.chromium.launch(executable_path=args.chromium, args=ARGS + extra)
        try:
            page = await browser.new_page()
            await page.goto(f"{args.origin}/api/health")  # same origin as the WHEP endpoint

            async def read() -> dict[str, Any]:
                raw = await page.evaluate(STATS)
                return {"state": raw["state"], "connected_at": raw["connected_at"], "pair": raw["pair"],
                        "video": pick(raw.get("video"), VIDEO_KEYS), "audio": pick(raw.get("audio"), AUDIO_KEYS)}

            ice_servers = only(args, await page.evaluate(ICE_SERVERS, {"origin": args.origin, "token": args.token})
                               if args.ice_servers_from_server else [])
            await page.evaluate(WATCH, {"url": args.url, "token": args.token, "iceServers": ice_servers})
            try:
                await sample_until_stopped(read, args.interval)
            finally:  # the server must stop sending at once, not when ICE consent expires
                await asyncio.wait_for(page.evaluate(LEAVE, {"token": args.token}), 10)
        finally:
            await browser.close()


# --------------------------------------------------------------------------- aiortc


class FrameClock:
    """Frames decoded, resolution and freezes of one decoded video track (the W3C definition)."""

    def __init__(self) -> None:
        self.frames = 0
        self.width = self.height = 0
        self.freezes = 0
        self.frozen_s = 0.0
        self.last: float | None = None
        self.intervals: deque[float] = deque(maxlen=30)

    def frame(self, width: int, height: int, now: float) -> None:
        self.frames += 1
        self.width, self.height = width, height
        if self.last is not None:
            interval = now - self.last
            if len(self.intervals) >= 5:
                mean = sum(self.intervals) / len(self.intervals)
                if interval > max(3 * mean, mean + 0.150):
                    self.freezes += 1
                    self.frozen_s += interval
            self.intervals.append(interval)
        self.last = now


class AiortcViewer:
    def __init__(self) -> None:
        self.clock = FrameClock()
        self.samples = 0
        self.keyframes = 0
        self.plis = 0
        self.nacks = 0
        self.connected_at: float | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self._count_keyframes()

    def _count_keyframes(self) -> None:
        # one viewer per process: count keyframes where aiortc hands VP8 frames to the decoder
        from aiortc.codecs import vpx

        original = vpx.Vp8Decoder.decode
        viewer = self

        def decode(decoder: Any, encoded_frame: Any) -> Any:
            data = encoded_frame.data
            viewer.keyframes += bool(data) and not data[0] & 1  # VP8 frame tag: bit 0 clear = keyframe
            return original(decoder, encoded_frame)

        vpx.Vp8Decoder.decode = decode  # type: ignore[method-assign, assignment]

    async def consume(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    self.clock.frame(frame.width, frame.height, time.time())
                else:
                    self.samples += frame.samples

    def hook_receiver(self, receiver: Any) -> None:
        pli, nack = receiver._send_rtcp_pli, receiver._send_rtcp_nack
        viewer = self

        async def send_pli(media_ssrc: int) -> None:
            viewer.plis += 1
            await pli(media_ssrc)

        async def send_nack(media_ssrc: int, lost: list[int]) -> None:
            viewer.nacks += 1
            await nack(media_ssrc, lost)

        receiver._send_rtcp_pli, receiver._send_rtcp_nack = send_pli, send_nack

    async def read(self, pc: Any) -> dict[str, Any]:
        inbound: dict[str, Any] = {}
        transport_bytes = 0
        for stats in (await pc.getStats()).values():
            if stats.type == "inbound-rtp":
                inbound[stats.kind] = stats
            elif stats.type == "transport":
                transport_bytes = stats.bytesReceived
        video, audio = inbound.get("video"), inbound.get("audio")
        a_rx, a_lost = (audio.packetsReceived, max(0, audio.packetsLost)) if audio else (0, 0)
        c = self.clock
        return {"state": pc.connectionState, "connected_at": self.connected_at, "pair": None,
                "video": {"framesDecoded": c.frames, "freezeCount": c.freezes, "totalFreezesDuration": c.frozen_s,
                          "frameWidth": c.width, "frameHeight": c.height, "keyFramesDecoded": self.keyframes,
                          "pliCount": self.plis, "nackCount": self.nacks,
                          "packetsReceived": video.packetsReceived if video else 0,
                          "packetsLost": max(0, video.packetsLost) if video else 0,
                          "bytesReceived": transport_bytes},  # aiortc counts bytes per transport only
                "audio": {"concealedSamples": a_lost * 960, "totalSamplesReceived": (a_rx + a_lost) * 960,
                          "packetsReceived": a_rx, "packetsLost": a_lost, "bytesReceived": 0}}


async def aiortc_ice_servers(args: argparse.Namespace) -> list[Any]:
    """The server's ICE servers for this token; aiortc takes one TURN server (the first: TURN/TCP)."""
    import httpx
    from aiortc import RTCIceServer

    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(f"{args.origin}/api/ice-servers", headers={"Authorization": f"Bearer {args.token}"})
        resp.raise_for_status()
    return [RTCIceServer(urls=entry["urls"], username=entry.get("username"), credential=entry.get("credential"))
            for entry in only(args, resp.json()["ice_servers"])]


async def aiortc_viewer(args: argparse.Namespace) -> None:
    import httpx
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    viewer = AiortcViewer()
    ice_servers = await aiortc_ice_servers(args) if args.ice_servers_from_server else []
    pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers))
    for kind in ("video", "audio"):
        viewer.hook_receiver(pc.addTransceiver(kind, direction="recvonly").receiver)

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected" and viewer.connected_at is None:
            viewer.connected_at = time.time()

    pc.on("track", lambda track: viewer.tasks.append(asyncio.ensure_future(viewer.consume(track))))
    auth = {"Authorization": f"Bearer {args.token}"}
    async with httpx.AsyncClient(timeout=20) as client:
        try:
            await pc.setLocalDescription(await pc.createOffer())
            resp = await client.post(args.url, content=pc.localDescription.sdp,
                                     headers={"Content-Type": "application/sdp", **auth})
            if resp.status_code != 201:
                raise RuntimeError(f"WHEP {resp.status_code} {resp.text[:200]}")
            resource = str(resp.url.join(resp.headers["location"]))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=resp.text, type="answer"))
            try:
                await sample_until_stopped(lambda: viewer.read(pc), args.interval)
            finally:  # the server must stop sending at once, not when ICE consent expires
                await client.delete(resource, headers=auth)
        finally:
            await pc.close()
        for task in viewer.tasks:
            task.cancel()
        await asyncio.gather(*viewer.tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=("chromium", "aiortc"), required=True)
    parser.add_argument("--origin", required=True, help="the server's base URL as seen from here")
    parser.add_argument("--url", required=True, help="the lesson's WHEP endpoint")
    parser.add_argument("--token", required=True)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--ice-servers-from-server", action="store_true",
                        help="use the server's ICE servers (GET /api/ice-servers: TURN with a fresh credential)")
    parser.add_argument("--only-ice", help="of those, only the ones whose URL starts with this (turns:, turn:)")
    args = parser.parse_args(argv)
    run = chromium_viewer if args.kind == "chromium" else aiortc_viewer
    try:
        asyncio.run(run(args))
    except Exception as exc:  # noqa: BLE001 - the parent reads this line
        emit({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
