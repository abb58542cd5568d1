"""The replay page against a real recording (a live lesson published over WHIP, with chapters,
chat and training-line events, then ended): the list, a chapter seek that shows the line's state
at that instant, playback, a #t= deep link, both languages, accessibility, no console errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from classroom.roles import Role
from classroom.training.state import initial_state
from server.replay.timeline import append_lesson_event
from server.training.event_log import Event
from tests.support.browser import console_errors, needs_chromium, screenshot
from tests.support.lines import small_line
from tests.support.tokens import Tokens
from tests.support.wait import wait_for
from tests.support.whip import publish
from tests.web.accessibility import serious_violations

pytestmark = [needs_chromium, pytest.mark.timeout(180)]

RECORDED_S = 4.0
STATES = {0.5: "stopped", 1.5: "execute", 3.0: "held"}  # the press, from that media time on
CHAPTERS = [(1.0, "Reset and start"), (3.2, "Hold the press")]
LINKS = {1.0: "t=1s", 3.2: "t=3.2s"}  # the fragment as the page writes it
WAIT_MS = 15_000


async def record_a_lesson(app: Starlette, client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    """A lesson with a publisher, recorded for RECORDED_S seconds, then ended; its training line,
    chat and stage events are logged on the lesson's clock; the teacher adds chapters."""
    lesson = (await client.post("/api/lessons", json={"title": "注塑模具 Insert moulding"},
                                headers=tokens.teacher())).json()
    pc = await publish(client, tokens, lesson["id"])
    try:
        live = app.state.live_recordings
        await wait_for(lambda: lesson["id"] in live.active)
        recording_id, recorder = live.active[lesson["id"]]
        await wait_for(lambda: recorder.duration_s > RECORDED_S, timeout=20)
    finally:
        await pc.close()
    assert (await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher())).status_code == 200
    meta = (await client.get(f"/api/recordings/{recording_id}", headers=tokens.teacher())).json()
    start = meta["started_at"]
    await log_the_line(app, lesson["id"], start)
    log = app.state.training_log
    await append_lesson_event(log, lesson["id"], "chat", {"from": {"subject": "alice"}, "text": "大家好 hello"},
                              at=start + 0.8)
    await append_lesson_event(log, lesson["id"], "stage", {"on_stage": ["nujiang-1"], "hands": []}, at=start + 2.0)
    for at_s, title in CHAPTERS:
        response = await client.post(f"/api/recordings/{recording_id}/chapters", json={"at_s": at_s, "title": title},
                                     headers=tokens.teacher())
        assert response.status_code == 201, response.text
    return {**meta, "lesson": lesson["id"]}


async def log_the_line(app: Starlette, lesson_id: str, start: float) -> None:
    state = initial_state(small_line()).document()
    events = [Event(lesson_id, start + 0.5, "snapshot", 0, {"time": 0.5, "state": state, "scenario": "small-line",
                                                            "rng": 1})]
    for revision, (at, status) in enumerate(sorted(STATES.items())[1:], start=1):
        events.append(Event(lesson_id, start + at - 0.05, "command", revision, {
            "actor": {"subject": "alice", "role": "teacher"},
            "command": {"kind": "station", "station": "press", "action": "start" if status == "execute" else "hold"}}))
        events.append(Event(lesson_id, start + at, "patch", revision, {
            "from": revision, "to": revision, "time": at,
            "ops": [{"op": "replace", "path": "/stations/press/status", "value": status},
                    {"op": "replace", "path": "/stations/press/counters/produced", "value": revision * 3}]}))
    await app.state.training_log.append(events)


def student_link(base: str, tokens: Tokens, lesson: str, fragment: str = "") -> str:
    token = tokens.mint(Role.STUDENT, "li", school="west", lesson=lesson)
    return f"{base}/replay#token={token}&lesson={lesson}{fragment}"


async def line_state_at_video_time(page: Any, client: httpx.AsyncClient, tokens: Tokens,
                                   recording: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Waits until the line panel shows the video's current instant; returns it with the API's state there."""
    await page.wait_for_function("() => { const v = document.getElementById('video'); "
                                 "return v.paused && !v.seeking && document.getElementById('line').dataset.t "
                                 "=== String(v.currentTime); }", timeout=WAIT_MS)
    at = await page.evaluate("() => document.getElementById('video').currentTime")
    answer = (await client.get(f"/api/recordings/{recording['id']}/state", params={"t": str(at)},
                               headers=tokens.student("li", school="west", lesson=recording["lesson"]))).json()
    return at, answer


async def test_the_replay_page_seeks_to_a_chapter_and_shows_the_line_at_that_instant(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens, http_base: str, browser: Any
) -> None:
    recording = await record_a_lesson(app, client, tokens)
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(student_link(http_base, tokens, recording["lesson"]))

    await page.wait_for_selector("#recordings li a")  # no recording named: the list
    assert "token=" not in page.url
    await screenshot(page, "replay-list-zh")
    await page.click("#recordings li a")
    await page.wait_for_function("() => document.getElementById('video').readyState >= 1", timeout=WAIT_MS)
    assert await page.inner_text("#recording-title") == "注塑模具 Insert moulding"

    for index, (at_s, _) in enumerate(CHAPTERS):
        await page.click(f"#chapters button[data-index='{index}']")
        at, answer = await line_state_at_video_time(page, client, tokens, recording)
        assert abs(at - at_s) < 0.01
        expected = STATES[max(k for k in STATES if k <= at)]
        assert answer["state"]["stations"]["press"]["status"] == expected
        shown = await page.get_attribute("#line [data-station='press']", "data-status")
        assert shown == expected
        assert await page.get_attribute("#line", "data-revision") == str(answer["revision"])
        assert await page.get_attribute(f"#chapters button[data-index='{index}']", "aria-current") == "true"
        await page.wait_for_function(f"() => location.hash.includes('{LINKS[at_s]}')")  # the link follows
    events = await page.eval_on_selector_all("#events li", "items => items.map(i => i.dataset.kind)")
    assert events == ["chat", "command", "stage", "command"]  # everything up to 3.2 s, nothing later
    await screenshot(page, "replay-zh")
    assert await serious_violations(page) == []

    await page.click("button.language-switch")
    assert await page.get_attribute("html", "lang") == "en"
    await page.wait_for_function("() => document.getElementById('line-caption').textContent.includes('revision')")
    assert "Training line" in await page.inner_text("main")
    await screenshot(page, "replay-en")
    assert await serious_violations(page) == []

    await page.set_viewport_size({"width": 1920, "height": 1080})
    await screenshot(page, "replay-en-1920")
    assert errors == []
    await context.close()


async def test_the_video_plays_and_a_t_deep_link_starts_at_that_instant(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens, http_base: str, browser: Any
) -> None:
    recording = await record_a_lesson(app, client, tokens)
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(student_link(http_base, tokens, recording["lesson"], f"&recording={recording['id']}&t=2.5"))
    at, answer = await line_state_at_video_time(page, client, tokens, recording)
    assert abs(at - 2.5) < 0.01  # the deep link's instant, and the line as it was then
    assert await page.get_attribute("#line [data-station='press']", "data-status") == "execute"
    assert answer["state"]["stations"]["press"]["status"] == "execute"

    await page.focus("#video")
    await page.keyboard.press("ArrowLeft")  # back 5 s: the start
    await page.wait_for_function("() => document.getElementById('video').currentTime === 0", timeout=WAIT_MS)
    await page.keyboard.press(" ")  # play
    await page.wait_for_function("""() => { const v = document.getElementById('video');
        return !v.paused && v.currentTime > 0.5 && v.getVideoPlaybackQuality().totalVideoFrames > 5; }""",
                                 timeout=WAIT_MS)
    await page.wait_for_function("() => document.querySelectorAll('#events li[data-kind]').length >= 1",
                                 timeout=WAIT_MS)  # the chat at 0.8 s appears as the clock passes it
    await page.keyboard.press(" ")  # pause
    await page.wait_for_function("() => document.getElementById('video').paused", timeout=WAIT_MS)
    assert "t=" in page.url and "token=" not in page.url

    download = await page.get_attribute("#download", "href")
    assert download is not None and "ticket=" in download and download.endswith("download=1")
    response = await client.get(download)  # the ticket is the credential: no header
    assert response.status_code == 200 and response.headers["content-disposition"].startswith("attachment")
    assert errors == []
    await context.close()


async def test_the_index_page_lists_the_replay_page(http_base: str, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await page.goto(f"{http_base}/")
    await page.wait_for_selector("#pages a[href='/replay']")
    assert "--role student" in await page.inner_text("#howto-commands")
    await context.close()
