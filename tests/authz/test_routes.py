"""The authorisation matrix of every REST route: 5 kinds of principal x 2 schools x 3 lesson scopes,
and no token at all. See tests/authz/routes.py for the expected outcomes and
tests/authz/__init__.py for the choices made where the docs are silent.

A cell's id reads as its spec: ``test_route[POST /api/lessons/{id}/end-teacher-west-all-lessons]``.
An allowed principal gets one of the route's success statuses; anyone else 403 (401 without a
token), and the refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

from tests.authz.principals import ANONYMOUS, PRINCIPALS, Principal
from tests.authz.routes import CASES, Case
from tests.authz.world import World, running_world
from tests.support.peers import Subscriber, SyntheticAudio, SyntheticVideo, publisher_offer

pytestmark = pytest.mark.asyncio(loop_scope="module")

CELLS = [pytest.param(case, principal, id=f"{case.id}-{principal.id if principal else 'no-token'}")
         for case in CASES for principal in (*PRINCIPALS, ANONYMOUS)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("authz-routes") / "var"
    publisher, viewer = RTCPeerConnection(), Subscriber()
    try:
        async with running_world(data_dir) as w:
            w.extra["publisher_offer"] = await publisher_offer(publisher, SyntheticAudio(), SyntheticVideo(160, 120))
            w.extra["viewer_offer"] = await viewer.offer()
            yield w
    finally:
        await publisher.close()
        await viewer.close()


@pytest.mark.parametrize(("case", "principal"), CELLS)
async def test_route(world: World, case: Case, principal: Principal | None) -> None:
    request = await case.prepare(world, principal) if principal else await case.prepare(world, PRINCIPALS[0])
    headers = dict(request.kwargs.get("headers", {}))
    if principal is not None:
        headers.update(principal.headers(world.app.state.tokens, request.lesson, world.other))
    before = await request.observe() if request.observe else None
    response = await world.client.request(case.method, request.url, **{**request.kwargs, "headers": headers})
    expected = case.expected(principal)
    assert response.status_code in expected, (
        f"{case.id} by {principal.id if principal else 'no token'}: expected {sorted(expected)}, "
        f"got {response.status_code} {response.text[:300]}")
    if response.status_code >= 300 and request.observe is not None:
        assert await request.observe() == before, "a refused request changed something"
