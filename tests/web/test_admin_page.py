"""The admin page in a real Chromium against a real server: a lesson that just ended is reviewed,
a status is overridden with a reason (table, audit trail, API), the CSV export matches the table,
a roster with a bad row shows the row's error, and the ledger's checkpoint is verified in the
browser. Screenshots in both languages; no serious accessibility violations; no console errors."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from classroom.roles import Role
from server.edge.app import create_app
from server.edge.settings import Settings
from tests.support.browser import console_errors, needs_chromium, screenshot
from tests.support.programme import Clock, Programme
from tests.support.tokens import Tokens
from tests.web.accessibility import serious_violations

pytestmark = needs_chromium

COURSE, WEST_ROOM, EAST_ROOM = "mould-101", "nujiang-1", "east-lab"
A, B, C, ABSENT = "NJ-0001", "NJ-0002", "NJ-0003", "NJ-0101"
EN_STATUS = {"present": "Present", "late": "Late", "left_early": "Left early", "absent": "Absent",
             "excused": "Excused"}
WAIT_MS = 10_000


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    """The app of tests/conftest.py, on a clock the test moves (a lesson lasts an hour, not a test)."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def p(app: Starlette, client: httpx.AsyncClient, tokens: Tokens, clock: Clock) -> Programme:
    """east teaches mould-101; west-1's classroom nujiang-1 has A, B and C, nujiang-2 has ABSENT."""
    programme = Programme(app, client, tokens, clock)
    for school in ("east", "west-1"):
        await programme.ok("PUT", f"/api/schools/{school}", programme.admin(school), json={"name": school.title()})
    await programme.ok("POST", "/api/courses", programme.admin("east"),
                       json={"id": COURSE, "title": "Mould making", "credits": 2})
    for room in (WEST_ROOM, "nujiang-2"):
        await programme.ok("POST", "/api/classrooms", programme.admin("west-1"), json={"id": room, "name": room})
    for code, room in [(A, WEST_ROOM), (B, WEST_ROOM), (C, WEST_ROOM), (ABSENT, "nujiang-2")]:
        await programme.ok("POST", "/api/students", programme.admin("west-1"),
                           json={"code": code, "name": code, "classroom": room})
    await programme.ok("POST", f"/api/courses/{COURSE}/enrolments", programme.admin("east"),
                       json={"students": [A, B, C, ABSENT]})
    return programme


async def one_hour_lesson(p: Programme) -> str:
    """nujiang-1 is connected for the whole hour with A, B and C; B leaves after 30 minutes."""
    lesson = await p.start_lesson()
    p.connect(lesson)
    assert (await p.tick(lesson, checked_in=(A, B, C))).status_code == 201
    p.wait(30 * 60)
    assert (await p.tick(lesson, checked_out=(B,))).status_code == 201
    p.wait(30 * 60)
    await p.end_lesson(lesson)
    return lesson


async def open_admin_page(browser: Any, base: str, token: str, width: int = 1366,
                          height: int = 768) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(f"{base}/admin#token={token}")
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert "token=" not in page.url  # the token left the address bar
    return context, page, errors


async def table_rows(page: Any, selector: str) -> list[list[str]]:
    rows: list[list[str]] = await page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(row => [...row.cells].map(cell => cell.innerText.trim()))")
    return rows


async def to_english(page: Any) -> None:
    await page.click("button.language-switch")
    assert await page.get_attribute("html", "lang") == "en"


async def test_an_admin_reviews_a_lesson_that_just_ended_overrides_with_a_reason_and_exports_the_table(
        p: Programme, http_base: str, browser: Any, tokens: Tokens) -> None:
    lesson = await one_hour_lesson(p)
    token = tokens.mint(Role.ADMIN, "admin-east", school="east")
    context, page, errors = await open_admin_page(browser, http_base, token)

    await page.click(f"#lessons-table tr[data-lesson='{lesson}'] button.open-lesson")
    await page.wait_for_selector(f"#attendance-table tr[data-student='{A}']", timeout=WAIT_MS)
    rows = {row[0]: row for row in await table_rows(page, "#attendance-table")}
    assert rows[A][3:7] == ["60.0", "100%", "出勤", "是"]
    assert rows[B][3:7] == ["30.0", "50%", "早退", "否"]
    assert rows[ABSENT][5] == "缺勤"
    assert await page.locator("#attendance-chart svg .chart-row").count() == 2  # nujiang-1 and nujiang-2
    await screenshot(page, "admin-attendance-zh")

    await page.focus(f"#attendance-table tr[data-student='{ABSENT}'] button.correct")  # by keyboard
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "override-status"
    await page.select_option("#override-status", "present")
    await page.fill("#override-reason", "watched the recording in the library")
    await page.click("#override-form button[type=submit]")
    corrected = page.locator(f"#attendance-table tr[data-student='{ABSENT}']")
    await corrected.filter(has_text="watched the recording in the library").wait_for(timeout=WAIT_MS)
    assert "系统计算：缺勤" in await corrected.inner_text()
    trail = await table_rows(page, "#corrections-table")
    assert [(row[1], row[2], row[3], row[4]) for row in trail] == [
        ("更正状态", ABSENT, "出勤", "watched the recording in the library")]
    assert trail[0][5] == "admin:admin-east@east"

    api_row = {row["student"]: row for row in (await p.attendance(lesson))["students"]}[ABSENT]
    assert (api_row["status"], api_row["computed_status"], api_row["override_reason"]) == (
        "present", "absent", "watched the recording in the library")

    await to_english(page)
    assert "Corrections (audit trail)" in await page.inner_text("main")
    await screenshot(page, "admin-attendance-en")
    async with page.expect_download(timeout=WAIT_MS) as info:
        await page.click("#export-csv")
    download = await info.value
    assert download.suggested_filename == f"attendance-{lesson}.csv"
    with Path(await download.path()).open(encoding="utf-8", newline="") as file:
        exported = list(csv.DictReader(file))
    table = await table_rows(page, "#attendance-table")
    assert [row["student"] for row in exported] == [row[0] for row in table]
    for row, cells in zip(exported, table, strict=True):
        assert cells[1] == row["school"]
        assert float(cells[3]) == float(row["minutes"])
        assert cells[4] == f"{round(float(row['share']) * 100)}%"
        assert cells[5].splitlines()[0] == EN_STATUS[row["status"]]
        assert cells[6] == ("yes" if row["credit"] == "true" else "no")
        assert (row["override_reason"] or "—") in cells[7]

    assert await serious_violations(page) == []
    assert errors == []
    await context.close()


async def test_a_roster_with_a_bad_row_shows_that_rows_error_in_a_table(
        p: Programme, http_base: str, browser: Any, tokens: Tokens, client: httpx.AsyncClient) -> None:
    token = tokens.mint(Role.ADMIN, "admin-west", school="west-1")
    context, page, errors = await open_admin_page(browser, http_base, token, 1920, 1080)
    await page.click(".admin-tabs .tab[data-section=roster]")
    roster = "code,name,classroom,course\nNJ-0201,Ana,nujiang-1,mould-101\nNJ-0202,Bo,nowhere,\n"
    await page.fill("#roster-text", roster)
    await page.click("#roster-form button[type=submit]")
    await page.wait_for_selector("#roster-errors tr[data-row='2']", timeout=WAIT_MS)
    assert await table_rows(page, "#roster-errors") == [
        ["2", "3", "NJ-0202", "教室", "classroom 'nowhere' does not exist"]]
    assert "新建 1 名学生" in await page.inner_text("#roster-result")
    await screenshot(page, "admin-roster-zh")
    await to_english(page)
    assert (await table_rows(page, "#roster-errors"))[0][3] == "classroom"
    await screenshot(page, "admin-roster-en")

    created = await client.get("/api/students/NJ-0201", headers=tokens.admin("admin-west", school="west-1"))
    assert created.status_code == 200 and created.json()["classroom"] == "nujiang-1"
    missing = await client.get("/api/students/NJ-0202", headers=tokens.admin("admin-west", school="west-1"))
    assert missing.status_code == 404
    assert await serious_violations(page) == []
    assert errors == []
    await context.close()


async def test_the_ledger_checkpoint_is_verified_in_the_browser_and_a_pending_recognition_can_be_voided(
        p: Programme, http_base: str, browser: Any, tokens: Tokens) -> None:
    await one_hour_lesson(p)
    token = tokens.mint(Role.ADMIN, "admin-west", school="west-1")
    context, page, errors = await open_admin_page(browser, http_base, token)
    await to_english(page)
    await page.click(".admin-tabs .tab[data-section=ledger]")
    await page.wait_for_selector("#checkpoint-verdict.verdict-verified", timeout=WAIT_MS)
    pending = {row[0]: row for row in await table_rows(page, "#recognitions-table")}
    assert set(pending) == {A, C}
    await screenshot(page, "admin-ledger-en")

    row = page.locator("#recognitions-table tbody tr", has_text=A)
    await row.locator("button.danger").click()  # void without a reason: refused by the form
    assert await row.locator("input.reason").evaluate("input => input.validity.customError")
    await row.locator("input.reason").fill("not part of the programme")
    await row.locator("button.danger").click()
    await page.locator("#recognitions-table tbody tr").filter(has_text=A).wait_for(state="detached",
                                                                                    timeout=WAIT_MS)
    voided = await p.ok("GET", "/api/recognitions?status=voided", p.admin("west-1"))
    assert [(r["student"], r["status"]) for r in voided["recognitions"]] == [(A, "voided")]

    await page.click(".admin-tabs .tab[data-section=student]")
    await page.fill("#student-code", C.lower())
    await page.keyboard.press("Enter")
    await page.locator("#student-result").filter(has_text="Pending").wait_for(timeout=WAIT_MS)
    assert "Mould making 3" in await page.inner_text("#student-result")
    await page.click("button.language-switch")
    assert "待认定" in await page.inner_text("#student-result")
    await screenshot(page, "admin-student-zh")
    assert await serious_violations(page) == []
    assert errors == []
    await context.close()


async def test_an_admin_of_another_school_reads_a_refusal_as_a_sentence_not_json(
        p: Programme, http_base: str, browser: Any, tokens: Tokens) -> None:
    lesson = await one_hour_lesson(p)
    token = tokens.mint(Role.ADMIN, "admin-west", school="west-1")
    context, page, errors = await open_admin_page(browser, http_base, token)
    assert await table_rows(page, "#lessons-table") == [["还没有课程。"]]  # east's lesson is not listed
    await page.fill("#lesson-id", lesson)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"#attendance-table tr[data-student='{A}']", timeout=WAIT_MS)
    assert "只有授课学校的管理员" in await page.inner_text("#corrections-table")
    await page.select_option("#override-student", B)
    await page.fill("#override-reason", "seen in the hallway")
    await page.click("#override-form button[type=submit]")
    alert = page.locator("#notices [role=alert]")
    await alert.wait_for(timeout=WAIT_MS)
    assert (await alert.inner_text()).startswith("您没有权限进行这个操作。")
    assert "{" not in await alert.inner_text()
    assert (await p.row(lesson, B))["override_reason"] == ""
    errors = [error for error in errors if "403" not in error]  # the refused request, logged by Chromium
    assert errors == []
    await context.close()


async def test_a_token_of_another_role_gets_the_sign_in_form_instead_of_the_page(
        http_base: str, browser: Any, tokens: Tokens) -> None:
    context, page = await browser.new_context(), None
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(f"{http_base}/admin#token={tokens.mint(Role.TEACHER, 'alice')}")
    await page.wait_for_selector("form.signin [role=alert]", timeout=WAIT_MS)
    assert "教师" in await page.inner_text("form.signin")
    assert await page.locator("#admin-app").is_hidden()
    assert errors == []
    await context.close()
