"""The authorisation matrix of the lesson channel: 5 kinds of principal x 2 schools x 3 lesson
scopes, and no token, against the live east lesson taught by alice. See tests/authz/channel.py
for the expected outcomes.

``test_admission[<principal>]``: who is let into the channel, and how the others are refused.
``test_messages[<principal>]``: every message type on one connection of an admitted principal;
an allowed one gets its documented reply (or a domain error other than ``forbidden``), a refused
one ``error`` ``forbidden`` on a socket that stays open, and changes nothing: the stage, the live
feeds and media transports, the timeline, the training line, and what the bystander receives.

Everything runs against the real app on uvicorn with real WebSockets; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import websockets
from websockets.exceptions import InvalidStatus

from classroom.principal import Principal as Identity
from classroom.roles import Role
from server.live.channel.room import LessonRoom
from tests.authz.channel import ASSIGNED, BYSTANDER, MESSAGES, ON_STAGE, SCENARIO, MessageCase, admission
from tests.authz.principals import ANONYMOUS, PRINCIPALS, SUBJECTS, Principal
from tests.authz.world import World, running_world
from tests.support.lesson_channel import LessonClient
from tests.support.servers import running_server
from tests.support.wait import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE = Identity("east", Role.TEACHER, "alice")
EAST_LAB = Identity("east", Role.CLASSROOM, SUBJECTS["classroom"])
NUJIANG = Identity("west", Role.CLASSROOM, BYSTANDER)
QUIET = frozenset({"pong", "training.patch"})
"""What the bystander may receive while a refused message is handled (the line's own batches)."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("authz-channel") / "var"
    async with running_world(data_dir) as w, running_server(w.app) as base:
        w.extra["base"] = base
        await arrange(w)
        async with connect(w, EAST_LAB) as east_lab:  # east's east-lab takes part, then steps out
            await east_lab.expect("welcome")
        await gone(w, EAST_LAB)
        yield w


# --- the world's lesson channel -------------------------------------------------------------------


def connect(w: World, who: Identity, scope: str | None = None) -> Any:
    token = w.app.state.tokens.issue(who.subject, who.role, who.school, lesson=scope or w.live)
    return LessonClient.connect(w.extra["base"], w.live, token)


def room(w: World) -> LessonRoom:
    found: LessonRoom = w.app.state.rooms.rooms[w.live]
    return found


async def gone(w: World, who: Identity) -> None:
    """The server has handled ``who``'s leaving (so a new connection is a join, not a takeover)."""
    await wait_for(lambda: who not in room(w).participants)


async def arrange(w: World) -> None:
    """A fresh line with ``lathe`` assigned to east's east-lab, set up by alice, who then leaves."""
    async with connect(w, ALICE) as alice:
        await alice.expect("welcome")
        loaded = await alice.request({"type": "training.load", "scenario": SCENARIO})
        assert loaded["type"] == "ack", loaded
        station, classroom = ASSIGNED
        assign = {"kind": "assign_station", "station": station, "classroom": classroom}
        assigned = await alice.request({"type": "training.command", "command": assign})
        assert assigned["type"] == "training.accepted", assigned
    await gone(w, ALICE)


async def observe(w: World) -> dict[str, Any]:
    """What a refused message must leave as it was."""
    r = room(w)
    line = r.training
    assert line is not None
    events = await w.app.state.components.training_log.read(w.live)
    station = f"/stations/{ASSIGNED[0]}"
    return {
        "stage": r.stage,
        "feeds": sorted(r.router.live_feeds()),
        "transports": len(r.router.transports),
        "timeline": Counter(e.kind for e in events if e.kind in ("chat", "marker", "stage")),
        "line": (id(line), line.scenario.id, line.state.revision, line.state.values.get(f"{station}/assigned"),
                 line.state.values.get(f"{station}/parameters/door_open")),
    }


async def heard(bystander: LessonClient) -> list[str]:
    """The types of everything the server sent the bystander since the last call."""
    assert (await bystander.request({"type": "ping"}))["type"] == "pong"
    types = [m["type"] for m in bystander.seen]
    bystander.seen.clear()
    return types


def outcome(reply: dict[str, Any]) -> str:
    return f"error:{reply['code']}" if reply["type"] == "error" else str(reply["type"])


async def send(client: LessonClient, case: MessageCase, p: Principal) -> dict[str, Any]:
    if not case.reply_by_type:
        return await client.request(case.message(p))
    request_id = await client.send(case.message(p))
    return await client.first(lambda m: m.get("id") == request_id or m["type"] == case.ok)


# --- the matrix ---------------------------------------------------------------------------------------

ADMISSION = [pytest.param(p, id=p.id if p else "no-token") for p in (*PRINCIPALS, ANONYMOUS)]
ADMITTED = [pytest.param(p, id=p.id) for p in PRINCIPALS if admission(p) is None]


def token_of(w: World, p: Principal | None) -> str:
    return p.token(w.app.state.tokens, w.live, w.other) if p is not None else ""


@pytest.mark.parametrize("principal", ADMISSION)
async def test_admission(world: World, principal: Principal | None) -> None:
    refusal = admission(principal)
    url = f"{world.extra['base']}/ws/lessons/{world.live}?access_token={token_of(world, principal)}"
    if refusal is None:
        assert principal is not None
        async with websockets.connect(url) as ws:
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert welcome["type"] == "welcome", welcome
        assert welcome["you"] == {"subject": principal.subject, "role": principal.role.value,
                                  "school": principal.school}
        await gone(world, Identity(principal.school, principal.role, principal.subject))
        return
    with pytest.raises(InvalidStatus) as refused:
        async with asyncio.timeout(10), websockets.connect(url):
            pass
    response = refused.value.response
    body = json.loads(bytes(response.body or b"{}"))
    assert (response.status_code, body["error"]["code"]) == (refusal.status, refusal.code), body


@pytest.mark.parametrize("principal", ADMITTED)
async def test_messages(world: World, principal: Principal) -> None:
    await arrange(world)
    me = Identity(principal.school, principal.role, principal.subject)
    wrong: list[str] = []
    async with connect(world, NUJIANG) as bystander:
        await bystander.expect("welcome")
        async with LessonClient.connect(world.extra["base"], world.live, token_of(world, principal)) as client:
            await client.expect("welcome")
            await client.expect("training.snapshot")  # the line's state on joining
            await heard(bystander)
            for case in MESSAGES:
                wrong += await check(world, client, bystander, case, principal)
            assert (await client.request({"type": "ping"}))["type"] == "pong", "the socket stays open"
        await gone(world, me)
    await gone(world, NUJIANG)
    assert not wrong, f"{principal.id}:\n" + "\n".join(wrong)


async def check(w: World, client: LessonClient, bystander: LessonClient, case: MessageCase,
                p: Principal) -> list[str]:
    """The cell (p, case): what is wrong with it (nothing, if all is as expected)."""
    before = await observe(w)
    reply = await send(client, case, p)
    got, expected = outcome(reply), case.expected(p)
    types = await heard(bystander)
    wrong = [] if got == expected else [f"  {case.type}: expected {expected}, got {got} {reply.get('message', '')}"]
    if not case.allowed(p):
        after = await observe(w)
        changed = {key for key in before if before[key] != after[key]}
        if changed:
            wrong.append(f"  {case.type}: refused, yet changed {sorted(changed)}")
        if set(types) - QUIET:
            wrong.append(f"  {case.type}: refused, yet the bystander received {types}")
    elif case.broadcast is not None and case.broadcast not in types and not await receives(bystander, case.broadcast):
        wrong.append(f"  {case.type}: the bystander did not receive {case.broadcast} ({types})")
    return wrong


async def receives(bystander: LessonClient, kind: str) -> bool:
    """A broadcast sent by the training line's own task may come after the bystander's pong."""
    try:
        await bystander.expect(kind, timeout=5)
    except TimeoutError:
        return False
    return True


async def test_a_classroom_on_stage_publishes_its_camera_and_mic_only_and_leaves_the_stage(world: World) -> None:
    await arrange(world)
    async with connect(world, NUJIANG) as bystander, connect(world, EAST_LAB) as east_lab:
        await bystander.expect("welcome")
        await east_lab.expect("welcome")
        async with connect(world, ALICE) as alice:
            assert (await alice.request({"type": "stage.invite", "subject": EAST_LAB.subject}))["type"] == "ack"
        await east_lab.expect("stage.invited")
        outcomes = [outcome(await east_lab.request(message)) for message, _ in ON_STAGE]
        assert outcomes == [expected for _, expected in ON_STAGE]
        assert room(world).stage.on_stage == ()
        assert not [feed for feed in room(world).router.live_feeds() if EAST_LAB.subject in feed]
    await gone(world, EAST_LAB)
    await gone(world, NUJIANG)
    await gone(world, ALICE)
