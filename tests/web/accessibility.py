"""An accessibility scan of a page with axe-core (vendored: tests/web/vendor/axe-core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["serious_violations"]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


async def serious_violations(page: Any) -> list[str]:
    """The serious and critical WCAG 2.1 A/AA violations on the page, one line each (rule: nodes)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))  # run through DevTools: the page's CSP does not apply
    result = await page.evaluate("""() => axe.run(document, {runOnly: {type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})""")
    return [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
