"""The training line at an instant of a recording: last snapshot + the patches up to t."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import server.training.owner as owner_module
from classroom.roles import Role
from classroom.training.commands import Actor, parse_command
from classroom.training.patches import apply_patch
from server.replay.timeline import LessonTimeline
from server.training.event_log import TRAINING_SCHEMA, Event, SqlEventLog
from server.training.owner import LineOwner
from tests.support.databases import ENGINES, drop_database, new_database
from tests.support.lines import small_line
from tests.support.recordings import DURATION_S, STARTED_AT, seed
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

TEACHER = Actor("east", Role.TEACHER, "alice")


@pytest.fixture(params=ENGINES)
async def logs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[SqlEventLog, LessonTimeline]]:
    db = new_database(request.param, tmp_path / "training.db", TRAINING_SCHEMA)
    event_log = SqlEventLog(db)
    await event_log.open()
    yield event_log, LessonTimeline(db)
    await event_log.close()
    await drop_database(db)


def replay_log(events: list[Event], t: float) -> tuple[int, dict[str, Any]] | None:
    """The reference: every event of the log up to t, from the very first, like a client that never left."""
    state: tuple[int, dict[str, Any]] | None = None
    for event in events:
        if event.at > t:
            break
        if event.kind == "snapshot":
            state = (event.revision, event.body["state"])
        elif event.kind == "patch" and state is not None:
            state = (max(state[0], event.body["to"]), apply_patch(state[1], event.body["ops"]))
    return state


def snapshot(at: float, revision: int, state: dict[str, Any]) -> Event:
    return Event("L1", at, "snapshot", revision, {"time": at, "state": state, "scenario": "s", "rng": 1})


def patch(at: float, first: int, last: int, ops: list[dict[str, Any]]) -> Event:
    return Event("L1", at, "patch", last, {"from": first, "to": last, "time": at, "ops": ops})


def replace(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


async def test_state_at_is_the_last_snapshot_plus_the_patches_up_to_t(
    logs: tuple[SqlEventLog, LessonTimeline],
) -> None:
    event_log, timeline = logs
    events = [
        snapshot(100.0, 0, {"a": 0, "b": 0}),
        patch(101.0, 1, 1, [replace("/a", 1)]),
        patch(102.0, 2, 3, [replace("/a", 2), replace("/b", 5)]),
        # Snapshot taken while revision 4 was still waiting to be flushed: the next batch overlaps it.
        snapshot(103.0, 4, {"a": 3, "b": 5}),
        patch(103.5, 4, 5, [replace("/a", 3), replace("/b", 6)]),
        patch(104.0, 6, 6, [{"op": "add", "path": "/c", "value": {"x": 1}}]),
        # The teacher loads another scenario: a fresh line starts again at revision 0.
        snapshot(110.0, 0, {"z": 0}),
        patch(111.0, 1, 1, [replace("/z", 1)]),
    ]
    await event_log.append(events)
    await event_log.append([Event("L2", 102.5, "patch", 99, {"from": 99, "to": 99, "time": 0,
                                                              "ops": [replace("/a", 99)]})])
    expected = {
        99.9: None,
        100.0: (0, {"a": 0, "b": 0}),
        101.0: (1, {"a": 1, "b": 0}),
        102.9: (3, {"a": 2, "b": 5}),
        103.0: (4, {"a": 3, "b": 5}),
        103.5: (5, {"a": 3, "b": 6}),
        109.0: (6, {"a": 3, "b": 6, "c": {"x": 1}}),
        110.0: (0, {"z": 0}),
        1e12: (1, {"z": 1}),
    }
    for t, state in expected.items():
        assert await timeline.state_at("L1", t) == state, t
    for t in (100.0, 101.0, 102.9, 103.0, 103.5, 109.0, 110.0, 1e12):
        assert await timeline.state_at("L1", t) == replay_log(events, t), t
    assert await timeline.state_at("L2", 1e12) is None  # a lesson without any snapshot


class Sampler:
    """A recipient of the live line that records, whenever a batch goes out, the owner's exact state."""

    def __init__(self, owner: LineOwner) -> None:
        self.owner = owner
        self.samples: list[tuple[float, int, dict[str, Any]]] = []

    def _sample(self) -> None:
        # Everything the owner holds has just been flushed (and logged): the log agrees with it now.
        self.samples.append((time.time(), self.owner.state.revision, self.owner.state.document()))

    def send(self, message: dict[str, Any]) -> None:
        if message["type"] in ("training.snapshot", "training.patch"):
            self._sample()

    def send_text(self, text: str) -> None:
        self.send(json.loads(text))


async def test_state_at_equals_the_live_line_owners_state_at_that_time(
    logs: tuple[SqlEventLog, LessonTimeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(owner_module, "SNAPSHOT_EVERY_S", 0.6)  # several snapshots in a few seconds
    event_log, timeline = logs
    line = LineOwner("L1", small_line(), event_log)
    sampler = Sampler(line)
    line.start()
    line.join(sampler)

    def command(wire: dict[str, Any]) -> None:
        assert line.submit(sampler, TEACHER, parse_command(wire), wire, None)

    for station in ("press", "robot"):
        command({"kind": "station", "station": station, "action": "reset"})
    await wait_for(lambda: line.state.values["/stations/robot/status"] == "idle")
    for station in ("press", "robot"):
        command({"kind": "station", "station": station, "action": "start"})
    for value in range(300, 600, 10):  # parameter changes between the simulation's own
        command({"kind": "set_parameter", "station": "press", "name": "clamp_force", "value": value})
        await asyncio.sleep(0.08)
    await wait_for(lambda: int(line.state.values["/stations/robot/counters/produced"] or 0) >= 2)
    await line.close()

    events = await event_log.read("L1")
    snapshots = [e for e in events if e.kind == "snapshot"]
    assert len(snapshots) >= 3 and sum(e.kind == "patch" for e in events) >= 20
    assert len(sampler.samples) >= 20
    assert any(at > snapshots[2].at for at, _, _ in sampler.samples)
    # The owner snapshots between flushes, so some batches overlap the snapshot before them.
    overlapping = [b for a, b in zip(events, events[1:], strict=False)
                   if a.kind == "snapshot" and b.kind == "patch" and b.body["from"] <= a.revision]
    assert overlapping
    for at, revision, document in sampler.samples:
        assert await timeline.state_at("L1", at) == (revision, document)

    # Anywhere in between: equal to a client that applied the whole log from the first snapshot on.
    rng = random.Random(5)
    first, last = events[0].at, events[-1].at
    for t in sorted(rng.uniform(first, last + 0.1) for _ in range(100)):
        assert await timeline.state_at("L1", t) == replay_log(events, t), t


async def test_state_route(app: Starlette, client: httpx.AsyncClient, tokens: Tokens) -> None:
    await seed(app)
    await app.state.training_log.append([
        snapshot(STARTED_AT + 5, 7, {"stations": {"press": {"status": "idle"}}}),
        patch(STARTED_AT + 6, 8, 8, [replace("/stations/press/status", "execute")]),
    ])
    get = client.get
    before = await get("/api/recordings/R1/state?t=4.9", headers=tokens.student(lesson="L1"))
    assert before.json() == {"t": 4.9, "revision": None, "state": None}
    at_snapshot = await get("/api/recordings/R1/state?t=5", headers=tokens.student(lesson="L1"))
    assert at_snapshot.json() == {"t": 5.0, "revision": 7, "state": {"stations": {"press": {"status": "idle"}}}}
    later = await get("/api/recordings/R1/state?t=600", headers=tokens.student(lesson="L1"))
    assert later.json() == {"t": 600.0, "revision": 8, "state": {"stations": {"press": {"status": "execute"}}}}
    end = await get(f"/api/recordings/R1/state?t={DURATION_S}", headers=tokens.student(lesson="L1"))
    assert end.status_code == 200


@pytest.mark.parametrize("query", ["", "?t=", "?t=abc", "?t=-1", "?t=nan", f"?t={DURATION_S + 0.5}"])
async def test_bad_state_queries_are_400(app: Starlette, client: httpx.AsyncClient, tokens: Tokens,
                                         query: str) -> None:
    await seed(app)
    response = await client.get("/api/recordings/R1/state" + query, headers=tokens.student(lesson="L1"))
    assert response.status_code == 400
    assert response.json()["error"]["message"]
