"""The classroom screen in a real Chromium against a real server: the teacher's video and sound,
the stage, the training line with this classroom's stations, the check-in code, the chat, and a
link that drops and comes back by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.browser import ROOMS, WEST, console_errors, needs_chromium, screenshot
from tests.support.lesson_channel import LessonClient, bearer
from tests.support.tokens import Tokens
from tests.web.accessibility import serious_violations

pytestmark = [needs_chromium, pytest.mark.timeout(120)]


WHIP_PUBLISH = """async ({url, token}) => {
  const pc = new RTCPeerConnection();
  const media = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
  for (const track of media.getTracks()) pc.addTransceiver(track, {direction: "sendonly"});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(resolve => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
  });
  const res = await fetch(url, {method: "POST", body: pc.localDescription.sdp,
    headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + token}});
  if (res.status !== 201) throw new Error("WHIP " + res.status + " " + await res.text());
  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
  window.pc = pc;
}"""

# What the page receives: its subscriber connection's inbound streams, and the teacher's video element.
RECEIVED = """async () => {
  const out = {video: {frames: 0, width: 0}, audio: {packets: 0, samples: 0}, shown: 0, element_width: 0};
  const pc = window.classroomScreen && window.classroomScreen.media.subscriber;
  if (pc) (await pc.getStats()).forEach(s => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") out.video = {frames: s.framesDecoded || 0, width: s.frameWidth || 0};
    if (s.kind === "audio") out.audio = {packets: s.packetsReceived || 0, samples: s.totalSamplesReceived || 0};
  });
  const video = document.getElementById("teacher-video");
  out.shown = video.getVideoPlaybackQuality().totalVideoFrames;
  out.element_width = video.videoWidth;
  return out;
}"""


async def until(check: Callable[[], Awaitable[Any]], timeout_s: float = 20.0) -> Any:
    """The first truthy result of ``check``, polled for at most ``timeout_s`` seconds."""
    async with asyncio.timeout(timeout_s):
        while not (result := await check()):
            await asyncio.sleep(0.1)
    return result


async def open_screen(browser: Any, base: str, tokens: Tokens, lesson: str, room: str = "nujiang-1",
                      language: str = "zh", size: tuple[int, int] = (1366, 768)) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    if language != "zh":
        await context.add_init_script(f"localStorage.setItem('classroom.lang', '{language}')")
    page = await context.new_page()
    errors = console_errors(page)
    token = bearer(tokens.classroom(room, school=WEST, lesson=lesson))
    await page.goto(f"{base}/classroom#token={token}&lesson={lesson}")
    await page.wait_for_function("() => window.classroomScreen && window.classroomScreen.channel.state === 'open'")
    return context, page, errors


async def teacher_publishes(browser: Any, base: str, tokens: Tokens, lesson: str) -> Any:
    page = await browser.new_page()
    await page.goto(f"{base}/api/health")  # a same-origin, secure (loopback) context
    await page.evaluate(WHIP_PUBLISH, {"url": f"{base}/whip/{lesson}", "token": bearer(tokens.teacher())})
    return page


async def received(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate(RECEIVED))


async def receives_teacher(page: Any, more_than: int = 30) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        stats = await received(page)
        ok = stats["video"]["frames"] > more_than and stats["audio"]["packets"] > more_than and stats["shown"] > 0
        return stats if ok else None
    return dict(await until(check))


async def teacher_command(alice: LessonClient, command: dict[str, Any]) -> None:
    reply = await alice.request({"type": "training.command", "command": command})
    assert reply["type"] == "training.accepted", reply


def participant(app: Starlette, lesson: str, subject: str) -> Any:
    room = app.state.rooms.rooms[lesson]
    return next(p for p in room.participants.values() if p.subject == subject)


async def test_two_classroom_screens_show_the_teacher_with_advancing_video_and_sound(
    http_base: str, browser: Any, tokens: Tokens, lesson: str
) -> None:
    teacher = await teacher_publishes(browser, http_base, tokens, lesson)
    screens = [await open_screen(browser, http_base, tokens, lesson, room) for room in ROOMS]
    for _context, page, _errors in screens:
        first = await receives_teacher(page)
        # real pictures: the teacher's 640x360 camera, or a step down when the sender's encoder adapts under load
        assert 320 <= first["video"]["width"] <= 640 and 320 <= first["element_width"] <= 640
        later = await receives_teacher(page, more_than=first["video"]["frames"] + 30)
        assert later["shown"] > first["shown"] and later["audio"]["samples"] > first["audio"]["samples"]
        assert await page.is_hidden("#teacher-waiting")
        assert await page.get_attribute("#teacher-video", "class") == "teacher-video live"
        assert await page.evaluate("() => document.getElementById('teacher-video').muted")
        await page.click("#sound")  # one click turns the sound on
        assert not await page.evaluate("() => document.getElementById('teacher-video').muted")
    for context, _page, errors in screens:
        assert errors == []
        await context.close()
    await teacher.close()


async def test_a_classroom_operates_its_assigned_station_and_is_refused_the_others(
    http_base: str, browser: Any, tokens: Tokens, lesson: str, app: Starlette
) -> None:
    async with LessonClient.connect(http_base.replace("http", "ws"), lesson, bearer(tokens.teacher())) as alice:
        assert (await alice.request({"type": "training.load", "scenario": "mould_machining_line"}))["type"] == "ack"
        context, page, errors = await open_screen(browser, http_base, tokens, lesson)
        await page.wait_for_selector("#line-diagram [data-station='press']")
        assign = {"kind": "assign_station", "station": "press", "classroom": "nujiang-1"}
        await teacher_command(alice, assign)
        press = "[data-station='press'].station-card"
        await page.wait_for_selector(f"{press}.mine button[data-action='reset']:not([disabled])")
        await page.click(f"{press} button[data-action='reset']")
        await page.wait_for_selector("#line-diagram [data-station='press'][data-status='idle']", timeout=20_000)
        assert app.state.rooms.rooms[lesson].training.state.values["/stations/press/status"] == "idle"
        assert await page.inner_text("#line-message") == "注塑机：已执行。"

        lathe = "[data-station='lathe'].station-card"
        assert await page.is_disabled(f"{lathe} button[data-action='reset']")
        assert await page.is_disabled(f"{lathe} .parameter-value >> nth=0")
        await page.evaluate(f"""() => {{ const b = document.querySelector("{lathe} button[data-action='reset']");
          b.disabled = false; b.click(); }}""")  # forced past the disabled control: the server refuses
        await page.wait_for_selector("#line-message.refused")
        refusal = await page.inner_text("#line-message")
        assert refusal.startswith("数控车床：操作未被接受。您没有权限") and "{" not in refusal
        assert app.state.rooms.rooms[lesson].training.state.values["/stations/lathe/status"] == "stopped"
        assert errors == []
        await context.close()


async def test_the_screen_reconnects_by_itself_and_catches_up_with_the_line_and_the_video(
    http_base: str, browser: Any, tokens: Tokens, lesson: str, app: Starlette
) -> None:
    teacher = await teacher_publishes(browser, http_base, tokens, lesson)
    async with LessonClient.connect(http_base.replace("http", "ws"), lesson, bearer(tokens.teacher())) as alice:
        assert (await alice.request({"type": "training.load", "scenario": "mould_machining_line"}))["type"] == "ack"
        context, page, errors = await open_screen(browser, http_base, tokens, lesson)
        await receives_teacher(page)
        await page.wait_for_selector("#line-diagram [data-station='press']")
        await page.evaluate("""() => { window.linkStates = [];
          window.classroomScreen.channel.addEventListener("state", e => window.linkStates.push(
            [e.detail.state, document.getElementById("link-banner").textContent])); }""")
        first_pc = await page.evaluate("() => window.classroomScreen.media.subscriber.connectionState")
        assert first_pc == "connected"

        held = {"closed": True}  # while the link is held, the page's new WebSockets are closed at once

        async def hold(ws: Any) -> None:
            if held["closed"]:
                await ws.close(code=1011, reason="the link is down")
            else:
                ws.connect_to_server()
        await page.route_web_socket("**/ws/lessons/**", hold)

        dropped = participant(app, lesson, "nujiang-1")
        assert dropped.subscriber is not None
        await dropped.subscriber.close()  # its peer connection, then its socket
        await dropped.websocket.close(code=1011, reason="test drops the link")
        for command in ({"kind": "assign_station", "station": "vision", "classroom": "nujiang-1"},
                        {"kind": "station", "station": "robot", "action": "reset"}):
            await teacher_command(alice, command)

        await page.wait_for_selector("#link-banner.lost")
        await screenshot(page, "classroom-link-lost-zh")
        held["closed"] = False
        await page.wait_for_function("() => window.linkStates.some(([s]) => s === 'open')", timeout=20_000)
        states = await page.evaluate("() => window.linkStates")
        assert states[0][0] == "reconnecting" and "正在自动重新连接" in states[0][1]
        assert participant(app, lesson, "nujiang-1") is not dropped
        await page.wait_for_selector("#link-banner[hidden]", state="attached")

        owner = app.state.rooms.rooms[lesson].training

        async def caught_up() -> bool:
            revision = owner.state.revision  # the line settles once the robot is idle
            settled = owner.state.values["/stations/robot/status"] == "idle"
            return settled and bool(await page.evaluate("() => window.classroomScreen.line.revision") == revision)
        await until(caught_up)
        assert await page.evaluate("() => window.classroomScreen.line.state") == owner.state.document()
        await page.wait_for_selector("#line-diagram [data-station='robot'][data-status='idle']")
        await page.wait_for_selector("[data-station='vision'].station-card.mine")

        frames = (await received(page))["video"]["frames"]
        after = await receives_teacher(page, more_than=frames + 30)  # the new subscriber connection plays
        assert 320 <= after["video"]["width"] <= 640
        assert errors == []
        await context.close()
    await teacher.close()


SCREENS = {"zh": ((1366, 768), "我们的车床准备好了", "签到码", "离开讲台"),
           "en": ((1920, 1080), "Our lathe is ready", "Check-in code", "Leave the stage")}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_the_screen_goes_on_stage_chats_shows_the_code_and_reads_well_in_both_languages(
    http_base: str, browser: Any, tokens: Tokens, lesson: str, app: Starlette, client: httpx.AsyncClient,
    language: str
) -> None:
    size, said, code_title, leave = SCREENS[language]
    teacher = await teacher_publishes(browser, http_base, tokens, lesson)
    async with LessonClient.connect(http_base.replace("http", "ws"), lesson, bearer(tokens.teacher())) as alice:
        assert (await alice.request({"type": "training.load", "scenario": "mould_machining_line"}))["type"] == "ack"
        for command in ({"kind": "assign_station", "station": "lathe", "classroom": "nujiang-1"},
                        {"kind": "assign_station", "station": "press", "classroom": "nujiang-2"},
                        {"kind": "inject_fault", "station": "press", "code": "P-502"}):
            await teacher_command(alice, command)
        context, page, errors = await open_screen(browser, http_base, tokens, lesson, language=language, size=size)
        await receives_teacher(page)

        shown = await client.get(f"/api/lessons/{lesson}/checkin-code",
                                 headers=tokens.classroom("nujiang-1", school=WEST, lesson=lesson))
        await page.wait_for_function("c => document.getElementById('checkin-code').textContent.replace(' ', '') === c",
                                     arg=shown.json()["code"], timeout=20_000)
        assert code_title in await page.inner_text(".checkin")

        await page.fill("#chat-input", said)
        await page.press("#chat-input", "Enter")  # keyboard only
        chat = await alice.expect("chat")
        assert chat["text"] == said and chat["from"]["subject"] == "nujiang-1"
        assert (await alice.request({"type": "chat.send", "text": "请大家看车床 / Look at the lathe"}))["type"] == "ack"
        await page.wait_for_selector(".chat-message.role-teacher")

        await page.click("#hand")
        await alice.expect_where("stage", lambda m: m["hands"] == ["nujiang-1"])
        assert (await alice.request({"type": "stage.invite", "subject": "nujiang-1"}))["type"] == "ack"
        await page.wait_for_selector(".stage-tile.local video")

        async def publishing() -> bool:
            return "classroom:nujiang-1/camera" in app.state.rooms.rooms[lesson].router.live_feeds()
        await until(publishing)
        await page.wait_for_function("t => document.getElementById('hand').textContent === t", arg=leave)
        await screenshot(page, f"classroom-{language}")
        assert await serious_violations(page) == []

        assert (await alice.request({"type": "stage.remove", "subject": "nujiang-1"}))["type"] == "ack"
        await page.wait_for_selector(".stage-tile.local", state="detached")
        assert await page.evaluate("() => window.classroomScreen.media.publisher") is None
        assert errors == []
        await context.close()
    await teacher.close()
