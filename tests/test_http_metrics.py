"""HttpCounts counts requests by method, route template and status; LoopLag buckets its samples."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.edge.metrics.http_counts import HttpCounts, RequestKey
from server.edge.metrics.loop_lag import LAG_BUCKETS, LoopLag
from tests.support.wait import wait_for


async def item(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["item_id"])


async def broken(request: Request) -> PlainTextResponse:
    raise RuntimeError("boom")


def counted_app(counts: Counter[RequestKey], static: Path) -> Starlette:
    routes = [Route("/items/{item_id}", item), Route("/broken", broken),
              Mount("/static", StaticFiles(directory=static))]
    return Starlette(routes=routes, middleware=[Middleware(HttpCounts, counts=counts)])


async def test_requests_are_counted_by_route_template_never_by_raw_url(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body {}")
    counts: Counter[RequestKey] = Counter()
    transport = httpx.ASGITransport(app=counted_app(counts, tmp_path), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for n in range(3):
            assert (await client.get(f"/items/{n}")).status_code == 200
        assert (await client.post("/items/1")).status_code == 405
        assert (await client.get("/nowhere/42")).status_code == 404
        assert (await client.get("/static/a.css")).status_code == 200
        assert (await client.request("PROPFIND", "/items/1")).status_code == 405
        assert (await client.get("/broken")).status_code == 500
    assert counts == {
        ("GET", "/items/{item_id}", "200"): 3,
        ("POST", "/items/{item_id}", "405"): 1,
        ("GET", "<unmatched>", "404"): 1,
        ("GET", "/static/{path}", "200"): 1,
        ("OTHER", "/items/{item_id}", "405"): 1,
        ("GET", "/broken", "500"): 1,
    }


@pytest.mark.parametrize(("lag", "bucket"), [(0.0, 0), (0.001, 0), (0.0011, 1), (0.3, 8), (5.0, len(LAG_BUCKETS))])
def test_loop_lag_samples_fall_in_the_bucket_of_their_upper_bound(lag: float, bucket: int) -> None:
    lag_meter = LoopLag()
    lag_meter.record(lag)
    assert lag_meter.counts[bucket] == 1 and lag_meter.samples == 1
    assert lag_meter.total == lag_meter.last == lag


async def test_loop_lag_samples_while_started_and_stops_on_close() -> None:
    lag_meter = LoopLag(interval=0.01)
    lag_meter.start()
    await wait_for(lambda: lag_meter.samples >= 3, timeout=5)
    await lag_meter.close()
    samples = lag_meter.samples
    await asyncio.sleep(0.05)  # what a running sampler would have recorded meanwhile
    assert lag_meter.samples == samples
