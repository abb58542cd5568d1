"""The front page: served by the server itself, Chinese by default, English on the switch (and
remembered), no console errors, and the security headers every page gets."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.browser import console_errors, needs_chromium, screenshot
from tests.web.accessibility import serious_violations

pytestmark = needs_chromium


async def test_the_front_page_is_html_with_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    script = await client.get("/static/js/protocol.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/static/../server/app.py")).status_code == 404


async def test_the_front_page_speaks_chinese_first_then_english_and_remembers(http_base: str, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(f"{http_base}/")
    await page.wait_for_selector("#pages > *")
    assert await page.get_attribute("html", "lang") == "zh-CN"
    assert "如何获得登录链接" in await page.inner_text("main")
    assert "classroom link --role" in await page.inner_text("#howto-commands")
    await screenshot(page, "index-zh")

    await page.click("button.language-switch")
    assert await page.get_attribute("html", "lang") == "en"
    assert "How to get a sign-in link" in await page.inner_text("main")
    await screenshot(page, "index-en")
    await page.reload()
    await page.wait_for_selector("#pages > *")
    assert "How to get a sign-in link" in await page.inner_text("main")  # the choice is remembered
    assert await serious_violations(page) == []
    assert errors == []
    await context.close()
