"""A real browser (Debian's headless Chromium, driven by Playwright) publishes by WHIP and watches by WHEP."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.support.browser import needs_chromium
from tests.support.lesson_channel import bearer
from tests.support.tokens import Tokens

pytestmark = needs_chromium

WAIT_ICE = """pc => new Promise(resolve => {
  if (pc.iceGatheringState === "complete") return resolve();
  pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
})"""

PUBLISH = """async ({url, token}) => {
  const waitIce = __WAIT_ICE__;
  const pc = new RTCPeerConnection();
  const media = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
  for (const track of media.getTracks()) pc.addTransceiver(track, {direction: "sendonly"});
  await pc.setLocalDescription(await pc.createOffer());
  await waitIce(pc);
  const res = await fetch(url, {method: "POST", body: pc.localDescription.sdp,
    headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + token}});
  if (res.status !== 201) throw new Error("WHIP " + res.status + " " + await res.text());
  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
  window.pc = pc;
  return res.headers.get("Location");
}""".replace("__WAIT_ICE__", WAIT_ICE)

WATCH = """async ({url, token}) => {
  const waitIce = __WAIT_ICE__;
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", {direction: "recvonly"});
  pc.addTransceiver("audio", {direction: "recvonly"});
  const stream = new MediaStream();
  pc.ontrack = event => stream.addTrack(event.track);
  await pc.setLocalDescription(await pc.createOffer());
  await waitIce(pc);
  const res = await fetch(url, {method: "POST", body: pc.localDescription.sdp,
    headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + token}});
  if (res.status !== 201) throw new Error("WHEP " + res.status + " " + await res.text());
  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
  const video = document.createElement("video");
  video.muted = true; video.autoplay = true; video.srcObject = stream;
  document.body.appendChild(video);
  window.pc = pc;
  return res.headers.get("Location");
}""".replace("__WAIT_ICE__", WAIT_ICE)

INBOUND = """async () => {
  const out = {};
  (await window.pc.getStats()).forEach(s => {
    if (s.type === "inbound-rtp") out[s.kind] = {ssrc: s.ssrc, frames: s.framesDecoded || 0,
      packets: s.packetsReceived, lost: s.packetsLost, width: s.frameWidth || 0};
  });
  return out;
}"""


async def _page(browser: Any, http_base: str) -> Any:
    page = await browser.new_page()
    await page.goto(f"{http_base}/api/health")  # a same-origin, secure (loopback) context
    return page


async def _inbound(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate(INBOUND))


async def _until(page: Any, predicate: Any, timeout_s: float = 20.0) -> dict[str, Any]:
    for _ in range(int(timeout_s * 10)):
        stats = await _inbound(page)
        if predicate(stats):
            return stats
        await page.wait_for_timeout(100)
    raise AssertionError(f"browser never reached the expected state: {await _inbound(page)}")


async def test_chromium_publishes_by_whip_and_a_chromium_viewer_decodes_it_across_a_teacher_reload(
    http_base: str, browser: Any, client: httpx.AsyncClient, tokens: Tokens, app: Starlette
) -> None:
    lesson = (await client.post("/api/lessons", json={"title": "Mould flow"}, headers=tokens.teacher())).json()
    teacher_token = bearer(tokens.teacher())
    viewer_token = bearer(tokens.classroom("nujiang-1", lesson=lesson["id"]))
    teacher, viewer = await _page(browser, http_base), await _page(browser, http_base)

    await teacher.evaluate(PUBLISH, {"url": f"{http_base}/whip/{lesson['id']}", "token": teacher_token})
    await viewer.evaluate(WATCH, {"url": f"{http_base}/whep/{lesson['id']}", "token": viewer_token})
    before = await _until(viewer, lambda s: s.get("video", {}).get("frames", 0) > 30
                          and s.get("audio", {}).get("packets", 0) > 50)
    assert before["video"]["width"] == 640

    await teacher.reload()  # the teacher's page reloads: her old session dies, she publishes again
    await teacher.evaluate(PUBLISH, {"url": f"{http_base}/whip/{lesson['id']}", "token": teacher_token})
    after = await _until(viewer, lambda s: s["video"]["frames"] > before["video"]["frames"] + 60)
    assert after["video"]["ssrc"] == before["video"]["ssrc"]  # same track, no re-join
    assert after["audio"]["ssrc"] == before["audio"]["ssrc"]
    whip_sessions = [s for s in app.state.live_media.sessions.values() if s.kind == "whip"]
    assert len(whip_sessions) == 1
    engine = app.state.live_media.engine
    if engine.workers is not None:  # CLASSROOM_MEDIA_WORKERS >= 2: the viewer's media came from a worker
        assert all(c.remote is not None for c in engine.routers[lesson["id"]].open_consumers)
