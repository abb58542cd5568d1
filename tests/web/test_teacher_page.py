"""The teacher console in a real Chromium (fake camera and microphone) against a real server, with
Python classrooms (tests/support/lesson_channel.py and aiortc peers) on the other end of the lesson channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection
from starlette.applications import Starlette

from tests.support.browser import console_errors, needs_chromium, screenshot
from tests.support.lesson_channel import LessonClient, answer_offers, bearer, publish
from tests.support.peers import Subscriber
from tests.support.servers import running_server
from tests.support.tokens import Tokens
from tests.support.wait import wait_for
from tests.web.accessibility import serious_violations

pytestmark = [needs_chromium, pytest.mark.timeout(120)]

CLASSROOM = "nujiang-1"

VIDEO_FRAMES = """selector => {
  const video = document.querySelector(selector);
  if (!video || !video.srcObject) return {frames: 0, width: 0, time: 0};
  return {frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth, time: video.currentTime};
}"""


@pytest.fixture
async def served(app: Starlette) -> AsyncIterator[tuple[str, str]]:
    async with running_server(app) as url:
        yield url, url.replace("ws://", "http://")


@pytest.fixture
async def lesson_id(client: httpx.AsyncClient, tokens: Tokens) -> str:
    response = await client.post("/api/lessons", json={"title": "数控铣削 CNC milling"}, headers=tokens.teacher())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@asynccontextmanager
async def teacher_page(browser: Any, http_base: str, token: str, lesson_id: str | None = None,
                       viewport: tuple[int, int] = (1366, 768), language: str | None = None
                       ) -> AsyncIterator[tuple[Any, list[str]]]:
    context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if language:
        await context.add_init_script(f"localStorage.setItem('classroom.lang', '{language}')")
    page = await context.new_page()
    errors = console_errors(page)
    fragment = f"#token={token}" + (f"&lesson={lesson_id}" if lesson_id else "")
    await page.goto(f"{http_base}/teacher{fragment}")
    try:
        yield page, errors
    finally:
        await context.close()


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)


async def go_live(page: Any) -> None:
    await page.wait_for_selector("#link-state.link-open")
    await page.wait_for_function("() => document.querySelector('#camera-select option') !== null")
    await page.click("#go-live")
    await page.wait_for_selector("#go-live[aria-pressed=true]")


def is_ack(reply: dict[str, Any]) -> bool:
    return reply["type"] == "ack"


async def test_the_teacher_page_is_served_with_the_strict_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/teacher")
    assert response.status_code == 200 and "teacher.js" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert (await client.get("/static/js/pages/teacher_training.js")).status_code == 200


async def test_the_teacher_goes_live_and_a_classroom_receives_her_camera_and_microphone(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str, client: httpx.AsyncClient
) -> None:
    base, http_base = served
    viewer = Subscriber(kinds=())
    try:
        async with (
            teacher_page(browser, http_base, bearer(tokens.teacher()), lesson_id) as (page, errors),
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom(CLASSROOM, school="west"))) as classroom,
        ):
            await go_live(page)
            tracks = await answer_offers(classroom, viewer)
            assert sorted(tracks.values()) == ["teacher/camera", "teacher/mic"]
            await wait_for(lambda: viewer.frames["video"] > 30 and viewer.frames["audio"] > 30, timeout=20)
            first = viewer.frames["video"]
            await wait_for(lambda: viewer.frames["video"] > first + 15, timeout=10)  # still advancing
            assert viewer.last_video_size is not None and viewer.last_video_size[0] >= 320
            assert (await page.inner_text("#lesson-state")) == "直播中"
            lesson = (await client.get(f"/api/lessons/{lesson_id}", headers=tokens.teacher())).json()
            assert lesson["state"] == "live"

            await page.click("#rollcall")
            rollcall = await classroom.expect("rollcall.started")
            assert rollcall["answer_by"] > 0
            await page.wait_for_function("() => document.querySelector('#rollcall-result').textContent.includes('1')")
            await page.fill("#marker-title", "第一章 对刀")
            await page.press("#marker-title", "Enter")
            await page.wait_for_selector("#markers li")
            assert "第一章 对刀" in await page.inner_text("#markers")

            await page.click("#end-lesson")
            await page.click("#end-lesson")  # the second click confirms
            await classroom.expect("lesson.ended")
            await page.wait_for_selector("#lesson-state.state-ended")
            assert errors == []
    finally:
        await viewer.close()


async def test_a_raised_hand_is_invited_seen_on_the_teacher_page_and_removed(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str, app: Starlette
) -> None:
    base, http_base = served
    publisher: RTCPeerConnection | None = None
    try:
        async with (
            teacher_page(browser, http_base, bearer(tokens.teacher()), lesson_id) as (page, errors),
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom(CLASSROOM, school="west"))) as classroom,
        ):
            await page.wait_for_selector(f"#classrooms li[data-subject='{CLASSROOM}']")
            assert is_ack(await classroom.request({"type": "hand.raise"}))
            await page.wait_for_selector(f"#hands li[data-subject='{CLASSROOM}'] button.invite")
            await page.click(f"#hands li[data-subject='{CLASSROOM}'] button.invite")
            await classroom.expect("stage.invited")
            room = app.state.rooms.rooms[lesson_id]
            assert list(room.stage.on_stage) == [CLASSROOM]

            publisher = await publish(classroom, {"0": "camera", "1": "mic"})
            video = f"#stage-feeds figure[data-subject='{CLASSROOM}'] video"
            await page.wait_for_selector(video)

            async def decoding() -> bool:
                state = await page.evaluate(VIDEO_FRAMES, video)
                return bool(state["frames"] > 10 and state["width"] == 320)

            await until(decoding)
            await page.click(f"#stage-feeds figure[data-subject='{CLASSROOM}'] button.remove")
            await classroom.expect("stage", on_stage=[])
            await page.wait_for_selector(f"#stage-feeds figure[data-subject='{CLASSROOM}']", state="detached")
            assert list(room.stage.on_stage) == []
            assert errors == []
    finally:
        if publisher is not None:
            await publisher.close()


async def test_the_teacher_loads_the_line_and_gives_a_station_to_a_classroom(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str
) -> None:
    base, http_base = served
    async with (
        teacher_page(browser, http_base, bearer(tokens.teacher()), lesson_id) as (page, errors),
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom(CLASSROOM, school="west"))) as classroom,
    ):
        await page.wait_for_selector("#link-state.link-open")
        await page.click("#scenario-form button[type=submit]")
        snapshot = await classroom.expect("training.snapshot", timeout=10)
        assert snapshot["state"]["stations"]["press"]["assigned"] is None
        await page.wait_for_selector(f"tr[data-station='press'] select.assign option[value='{CLASSROOM}']",
                                     state="attached")
        await page.select_option("tr[data-station='press'] select.assign", CLASSROOM)
        await classroom.expect_where("training.patch", lambda m: any(
            op["path"] == "/stations/press/assigned" and op["value"] == CLASSROOM for op in m["ops"]))

        await page.click("tr[data-station='press'] button[data-action='reset']")
        await page.wait_for_function(
            "() => document.querySelector(\"tr[data-station='press'] button[data-action='start']\").disabled === false")
        await page.select_option("tr[data-station='press'] select.fault-code", "P-502")
        await page.click("tr[data-station='press'] button[data-action='fault']")
        await page.wait_for_selector("#active-alarms li.alarm")
        assert "P-502" in await page.inner_text("#active-alarms")
        await page.wait_for_selector("tr[data-station='press'] .status.tone-bad")  # P-502 is high: aborted
        assert errors == []


async def test_the_quality_indicator_shows_a_connected_classrooms_figures(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str
) -> None:
    base, http_base = served
    viewer = Subscriber(kinds=())
    try:
        async with (
            teacher_page(browser, http_base, bearer(tokens.teacher()), lesson_id, language="en") as (page, errors),
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom(CLASSROOM, school="west"))) as classroom,
        ):
            await go_live(page)
            await answer_offers(classroom, viewer)
            quality = f"#classrooms li[data-subject='{CLASSROOM}'] .quality"
            await page.wait_for_selector(f"{quality}[data-rtt][data-loss][data-down]", timeout=25_000)
            figures = await page.inner_text(quality)
            assert "round trip" in figures and "ms" in figures and "kbit/s" in figures
            rtt = float(await page.get_attribute(quality, "data-rtt") or "nan")
            assert 0 <= rtt < 1000
            assert float(await page.get_attribute(quality, "data-down") or "0") > 10
            assert errors == []
    finally:
        await viewer.close()


@pytest.mark.parametrize("viewport", [(1366, 768), (1920, 1080)])
async def test_the_console_in_both_languages_has_no_serious_accessibility_problem(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str, viewport: tuple[int, int]
) -> None:
    base, http_base = served
    publisher: RTCPeerConnection | None = None
    viewer = Subscriber(kinds=())
    try:
        async with (
            teacher_page(browser, http_base, bearer(tokens.teacher()), lesson_id, viewport) as (page, errors),
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom(CLASSROOM, school="west"))) as nujiang,
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2", school="west"))) as kunming,
        ):
            await go_live(page)
            await answer_offers(nujiang, viewer)
            assert is_ack(await nujiang.request({"type": "hand.raise"}))
            assert is_ack(await kunming.request({"type": "hand.raise"}))
            await page.click(f"#hands li[data-subject='{CLASSROOM}'] button.invite")
            await nujiang.expect("stage.invited")
            publisher = await publish(nujiang, {"0": "camera", "1": "mic"})
            await page.fill("#chat-text", "请大家检查主轴转速 / check the spindle speed")
            await page.press("#chat-text", "Enter")
            assert is_ack(await kunming.request({"type": "chat.send", "text": "收到，转速 1200 rpm"}))
            await page.click("#scenario-form button[type=submit]")
            await page.wait_for_selector("tr[data-station='press']")
            await page.select_option("tr[data-station='lathe'] select.fault-code", "L-201")
            await page.click("tr[data-station='lathe'] button[data-action='fault']")
            await page.wait_for_selector("#active-alarms li.alarm")
            measured = f"#classrooms li[data-subject='{CLASSROOM}'] .quality[data-rtt]"
            await page.wait_for_selector(measured, timeout=25_000)
            await page.wait_for_function("() => document.querySelector('#stage-feeds video')?.videoWidth > 0")
            size = f"{viewport[0]}x{viewport[1]}"
            assert await page.get_attribute("html", "lang") == "zh-CN"
            await screenshot(page, f"teacher-zh-{size}")
            assert await serious_violations(page) == []
            await page.click("button.language-switch")
            assert await page.get_attribute("html", "lang") == "en"
            assert "Raised hands" in await page.inner_text("main")
            await screenshot(page, f"teacher-en-{size}")
            assert await serious_violations(page) == []
            await page.keyboard.press("Tab")  # the console is reachable from the keyboard
            assert await page.evaluate("() => document.activeElement !== document.body")
            assert errors == []
    finally:
        if publisher is not None:
            await publisher.close()
        await viewer.close()


async def test_without_a_lesson_in_the_link_the_teacher_creates_one_and_opens_it(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str
) -> None:
    _, http_base = served
    async with teacher_page(browser, http_base, bearer(tokens.teacher()), language="en") as (page, errors):
        await page.wait_for_selector("#lesson-list li .pill")  # the lesson of the fixture, not started
        assert "CNC milling" in await page.inner_text("#lesson-list")
        await screenshot(page, "teacher-picker-en")
        assert await serious_violations(page) == []
        await page.click("button.language-switch")
        assert "未开始" in await page.inner_text("#lesson-list")
        await screenshot(page, "teacher-picker-zh")
        await page.fill("#lesson-title", "Injection moulding basics")
        await page.click("#lesson-form button[type=submit]")
        await page.wait_for_selector("#link-state.link-open")
        assert await page.inner_text("#lesson-title-text") == "Injection moulding basics"
        assert "lesson=" in page.url and "token=" not in page.url
        await screenshot(page, "teacher-picker-opened-en")
        assert errors == []


async def test_screen_share_becomes_the_teacher_screen_feed_and_stops_again(
    served: tuple[str, str], browser: Any, tokens: Tokens, lesson_id: str, app: Starlette
) -> None:
    base, http_base = served
    viewer = Subscriber(kinds=())
    try:
        async with (
            teacher_page(browser, http_base, bearer(tokens.teacher()), lesson_id) as (page, errors),
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom(CLASSROOM, school="west"))) as classroom,
        ):
            await go_live(page)
            await answer_offers(classroom, viewer)
            await page.click("#share-screen")
            await page.wait_for_selector("#share-screen[aria-pressed=true]")
            tracks = await answer_offers(classroom, viewer)
            assert "teacher/screen" in tracks.values()
            router = app.state.live_media.engine.routers[lesson_id]
            await wait_for(lambda: "teacher/screen" in router.live_feeds())
            await page.click("#share-screen")
            await page.wait_for_selector("#share-screen[aria-pressed=false]")
            await wait_for(lambda: "teacher/screen" not in router.live_feeds())
            assert "teacher/camera" in router.live_feeds()
            assert errors == []
    finally:
        await viewer.close()
