"""A browser's WebSocket cannot set headers: it offers ``["classroom.v1", "bearer.<JWT>"]`` as
subprotocols, so the token never sits in a URL that an access log records."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.typing import Subprotocol

from tests.support.lesson_channel import bearer
from tests.support.tokens import Tokens


async def test_a_token_offered_as_a_subprotocol_is_admitted_and_classroom_v1_is_selected(
        base: str, lesson_id: str, tokens: Tokens) -> None:
    token = bearer(tokens.classroom("nujiang-1"))
    async with websockets.connect(f"{base}/ws/lessons/{lesson_id}",
                                  subprotocols=[Subprotocol("classroom.v1"), Subprotocol(f"bearer.{token}")]) as ws:
        assert ws.subprotocol == "classroom.v1"
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome" and welcome["you"]["subject"] == "nujiang-1"


async def test_a_bad_token_offered_as_a_subprotocol_is_refused_with_401(base: str, lesson_id: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{base}/ws/lessons/{lesson_id}",
                                      subprotocols=[Subprotocol("classroom.v1"), Subprotocol("bearer.not-a-token")]):
            pass
    assert refused.value.response.status_code == 401
