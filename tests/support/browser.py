"""Headless Chromium (Debian's package, driven by Playwright) for the page tests, with a fake
camera and microphone; screenshots go under ``test-output/pages`` for a person to look at."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "ROOMS", "WEST", "SCREENSHOTS", "chromium_browser", "console_errors", "needs_chromium"]

CHROMIUM = "/usr/bin/chromium"
WEST = "west-1"
ROOMS = ("nujiang-1", "nujiang-2")
"""the western school and its two classrooms of the page tests' lessons (tests/web/conftest.py ``lesson``)"""
SCREENSHOTS = Path(os.environ.get("CLASSROOM_TEST_OUTPUT", "test-output")) / "pages"
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason="Debian's chromium is not installed (.ci/run installs it)")

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@asynccontextmanager
async def chromium_browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def console_errors(page: Any) -> list[str]:
    """Collects the page's console errors and uncaught exceptions as they happen."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
