"""The real pages talking to each other through the real server, in one Chromium (fake camera and
microphone): the teacher console and two classroom screens, each in its own browser context, with
no Python peer on the lesson channel. The single-page tests (test_teacher_page.py,
test_classroom_page.py) drive one page against Python peers; these prove that the pages agree."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from tests.support.browser import ROOMS, needs_chromium
from tests.support.lesson_channel import bearer
from tests.support.tokens import Tokens
from tests.web.test_classroom_page import open_screen, receives_teacher, until
from tests.web.test_teacher_page import VIDEO_FRAMES, go_live, teacher_page

pytestmark = [needs_chromium, pytest.mark.timeout(90)]

A, B = ROOMS


def remote_tile(subject: str) -> str:
    """A classroom screen's tile of another classroom on stage (captioned with its subject)."""
    return f".stage-tile:not(.local):has(figcaption:text-is('{subject}'))"


TILE_FRAMES = """subject => {
  const tile = [...document.querySelectorAll("#on-stage .stage-tile:not(.local)")]
    .find(figure => figure.querySelector("figcaption").textContent === subject);
  const video = tile && tile.querySelector("video");
  if (!video || !video.srcObject) return {frames: 0, width: 0};
  return {frames: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth};
}"""


async def shows_video(page: Any, script: str, arg: str, more_than: int = 10) -> dict[str, Any]:
    """What ``script(arg)`` measures of a video element (frames shown, width), once it has shown more than
    ``more_than`` frames of a real size."""
    async def check() -> dict[str, Any] | None:
        state = dict(await page.evaluate(script, arg))
        return state if state["frames"] > more_than and state["width"] >= 160 else None
    return dict(await until(check))


async def test_the_teacher_page_goes_live_and_two_classroom_pages_show_her_video_and_sound(
    http_base: str, browser: Any, tokens: Tokens, lesson: str, app: Starlette
) -> None:
    async with teacher_page(browser, http_base, bearer(tokens.teacher()), lesson) as (teacher, teacher_errors):
        screens = [await open_screen(browser, http_base, tokens, lesson, room) for room in ROOMS]
        await go_live(teacher)
        await teacher.wait_for_selector(f"#classrooms li[data-subject='{A}']")
        await teacher.wait_for_selector(f"#classrooms li[data-subject='{B}']")
        router = app.state.rooms.rooms[lesson].router
        assert {"teacher/camera", "teacher/mic"} <= set(router.live_feeds())
        for _context, page, _errors in screens:
            first = await receives_teacher(page)
            # the fake camera's real pictures (the teacher page's encoder may step down under load)
            assert first["video"]["width"] >= 320 and first["element_width"] >= 320
            assert first["audio"]["samples"] > 0
            later = await receives_teacher(page, more_than=first["video"]["frames"] + 30)
            assert later["shown"] > first["shown"]  # the picture on the screen advances
            assert later["audio"]["packets"] > first["audio"]["packets"]
            assert later["audio"]["samples"] > first["audio"]["samples"]
            assert await page.is_hidden("#teacher-waiting")
        for context, _page, errors in screens:
            assert errors == []
            await context.close()
        assert teacher_errors == []


async def test_a_raised_hand_from_a_classroom_page_is_invited_seen_everywhere_and_removed(
    http_base: str, browser: Any, tokens: Tokens, lesson: str, app: Starlette
) -> None:
    async with teacher_page(browser, http_base, bearer(tokens.teacher()), lesson) as (teacher, teacher_errors):
        (a_context, a_page, a_errors), (b_context, b_page, b_errors) = [
            await open_screen(browser, http_base, tokens, lesson, room) for room in ROOMS]
        await teacher.wait_for_selector("#link-state.link-open")
        await teacher.wait_for_selector(f"#classrooms li[data-subject='{A}']")

        await a_page.click("#hand")
        invite = f"#hands li[data-subject='{A}'] button.invite"
        await teacher.wait_for_selector(invite)
        await teacher.click(invite)
        await a_page.wait_for_selector(".stage-tile.local video")  # its own camera, as it goes on stage

        async def publishing() -> bool:
            return f"classroom:{A}/camera" in app.state.rooms.rooms[lesson].router.live_feeds()
        await until(publishing)

        on_teacher = f"#stage-feeds figure[data-subject='{A}']"
        seen = await shows_video(teacher, VIDEO_FRAMES, f"{on_teacher} video")
        assert seen["width"] >= 160
        await b_page.wait_for_selector(f"#on-stage {remote_tile(A)} video")
        await shows_video(b_page, TILE_FRAMES, A)
        assert await a_page.locator(f"#on-stage {remote_tile(A)}").count() == 0  # not itself as a remote tile
        later = await shows_video(teacher, VIDEO_FRAMES, f"{on_teacher} video", more_than=seen["frames"] + 10)
        assert later["frames"] > seen["frames"]

        await teacher.click(f"{on_teacher} button.remove")
        await teacher.wait_for_selector(on_teacher, state="detached")
        await b_page.wait_for_selector(f"#on-stage {remote_tile(A)}", state="detached")
        await a_page.wait_for_selector(".stage-tile.local", state="detached")
        assert await a_page.evaluate("() => window.classroomScreen.media.publisher") is None
        assert list(app.state.rooms.rooms[lesson].stage.on_stage) == []
        assert a_errors == [] and b_errors == [] and teacher_errors == []
        await a_context.close()
        await b_context.close()


async def test_the_teacher_page_assigns_a_station_that_a_classroom_page_operates(
    http_base: str, browser: Any, tokens: Tokens, lesson: str, app: Starlette
) -> None:
    async with teacher_page(browser, http_base, bearer(tokens.teacher()), lesson, language="en") as (
            teacher, teacher_errors):
        (a_context, a_page, a_errors), (b_context, b_page, b_errors) = [
            await open_screen(browser, http_base, tokens, lesson, room) for room in ROOMS]
        await teacher.wait_for_selector("#link-state.link-open")
        await teacher.click("#scenario-form button[type=submit]")
        press_row = "tr[data-station='press']"
        await teacher.wait_for_selector(f"{press_row} select.assign option[value='{A}']", state="attached")
        await teacher.wait_for_function(
            f"() => document.querySelector(\"{press_row} .status\").textContent === 'stopped'")
        await teacher.select_option(f"{press_row} select.assign", A)

        press = "[data-station='press'].station-card"
        await a_page.wait_for_selector(f"{press}.mine button[data-action='reset']:not([disabled])")
        await b_page.wait_for_selector(f"{press}:not(.mine) button[data-action='reset'][disabled]", state="attached")
        await a_page.click(f"{press} button[data-action='reset']")

        await teacher.wait_for_function(
            f"() => document.querySelector(\"{press_row} .status\").textContent === 'idle'", timeout=20_000)
        assert await teacher.input_value(f"{press_row} select.assign") == A
        assert not await teacher.is_disabled(f"{press_row} button[data-action='start']")  # legal when idle
        assert app.state.rooms.rooms[lesson].training.state.values["/stations/press/status"] == "idle"
        await b_page.wait_for_selector("#line-diagram [data-station='press'][data-status='idle']")
        assert a_errors == [] and b_errors == [] and teacher_errors == []
        await a_context.close()
        await b_context.close()
