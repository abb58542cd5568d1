"""The owner task of a lesson's line: ordering, fan-out, late join, resync, event log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from classroom.roles import Role
from classroom.training.commands import Actor, parse_command
from server.edge.database import SqliteDatabase
from server.training.event_log import TRAINING_SCHEMA, SqlEventLog
from server.training.owner import FLUSH_BURST, FLUSH_RATE, FLUSH_WINDOW_S, LineOwner
from tests.support.client_document import ClientDocument
from tests.support.lines import small_line
from tests.support.wait import wait_for

TEACHER = Actor("east", Role.TEACHER, "alice")
CLASSROOM = Actor("east", Role.CLASSROOM, "nujiang-1")
CLOCK_START = 1000.0


class ManualClock:
    """The owner's monotonic clock, moved only by the test: no tick or flush interval passes unless asked."""

    def __init__(self) -> None:
        self.now = CLOCK_START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Inbox(ClientDocument):
    """A recipient that keeps what it is sent and a document it patches like a client."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.absorb(message)

    def send_text(self, text: str) -> None:
        self.send(json.loads(text))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]


@pytest.fixture
async def event_log(tmp_path: Path) -> AsyncIterator[SqlEventLog]:
    log = SqlEventLog(SqliteDatabase(tmp_path / "training.db", TRAINING_SCHEMA))
    await log.open()
    yield log
    await log.close()


@pytest.fixture
async def owner(event_log: SqlEventLog) -> AsyncIterator[LineOwner]:
    line = LineOwner("L1", small_line(), event_log)
    line.start()
    yield line
    await line.close()


@pytest.fixture
async def paced(event_log: SqlEventLog) -> AsyncIterator[tuple[LineOwner, ManualClock]]:
    clock = ManualClock()
    line = LineOwner("L1", small_line(), event_log, clock=clock)
    line.start()
    yield line, clock
    await line.close()


async def patches(inbox: Inbox, count: int) -> None:
    await wait_for(lambda: len(inbox.of("training.patch")) >= count)


def command(owner: LineOwner, sender: Inbox, actor: Actor, wire: dict[str, Any], request_id: object = None) -> None:
    assert owner.submit(sender, actor, parse_command(wire), wire, request_id)


async def settled(owner: LineOwner, *inboxes: Inbox) -> None:
    """Wait until the owner has answered every command sent so far and every inbox holds its revision."""
    await wait_for(lambda: owner._inbox.empty())
    await wait_for(lambda: all(i.revision == owner.state.revision for i in inboxes))


async def answered(inbox: Inbox, count: int) -> None:
    await wait_for(lambda: len(inbox.of("training.accepted")) + len(inbox.of("error")) >= count)


async def test_accepted_command_is_acknowledged_to_its_sender_and_patched_to_everyone(owner: LineOwner) -> None:
    teacher, classroom = Inbox(), Inbox()
    owner.join(teacher)
    owner.join(classroom)
    command(owner, teacher, TEACHER, {"kind": "set_parameter", "station": "press", "name": "clamp_force",
                                      "value": 500}, "c1")
    await wait_for(lambda: bool(teacher.of("training.accepted")))
    await settled(owner, teacher, classroom)
    assert teacher.of("training.accepted")[0]["id"] == "c1"
    assert not classroom.of("training.accepted")
    assert classroom.document is not None
    assert classroom.document["stations"]["press"]["parameters"]["clamp_force"] == 500


async def test_rejected_command_answers_its_sender_only_with_the_reason_and_changes_nothing(owner: LineOwner) -> None:
    teacher, classroom = Inbox(), Inbox()
    owner.join(teacher)
    owner.join(classroom)
    await settled(owner, teacher, classroom)
    revision = owner.state.revision
    values = dict(owner.state.values)
    command(owner, classroom, CLASSROOM, {"kind": "station", "station": "press", "action": "reset"}, 9)
    await wait_for(lambda: bool(classroom.of("error")))
    error = classroom.of("error")[0]
    assert error["id"] == 9 and error["code"] == "forbidden" and "not assigned" in error["message"]
    assert not teacher.of("error")
    assert owner.state.revision == revision and dict(owner.state.values) == values


async def test_a_late_joiner_gets_a_snapshot_then_patches_and_ends_equal_to_the_server(owner: LineOwner) -> None:
    teacher = Inbox()
    owner.join(teacher)
    for station in ("press", "robot"):
        command(owner, teacher, TEACHER, {"kind": "station", "station": station, "action": "reset"})
    await wait_for(lambda: owner.state.values["/stations/robot/status"] == "idle")
    for station in ("press", "robot"):
        command(owner, teacher, TEACHER, {"kind": "station", "station": station, "action": "start"})
    late = Inbox()
    owner.join(late)
    await wait_for(lambda: int(owner.state.values["/stations/robot/counters/produced"] or 0) >= 2)
    await settled(owner, teacher, late)
    assert late.of("training.snapshot") and late.gaps == 0 and teacher.gaps == 0
    assert late.document == owner.state.document() == teacher.document


async def test_a_single_command_on_a_quiet_line_is_broadcast_without_waiting_for_a_flush_interval(
    paced: tuple[LineOwner, ManualClock],
) -> None:
    owner, clock = paced
    teacher, classroom = Inbox(), Inbox()
    owner.join(teacher)
    owner.join(classroom)
    await settled(owner, teacher, classroom)
    command(owner, teacher, TEACHER, {"kind": "set_parameter", "station": "press", "name": "clamp_force",
                                      "value": 500})
    await wait_for(lambda: bool(classroom.of("training.patch")))  # the owner's clock has not moved at all
    assert clock.now == CLOCK_START
    assert classroom.document is not None
    assert classroom.document["stations"]["press"]["parameters"]["clamp_force"] == 500


async def test_a_lone_command_right_after_another_batch_still_goes_out_at_once(
    paced: tuple[LineOwner, ManualClock],
) -> None:
    owner, clock = paced
    teacher, classroom = Inbox(), Inbox()
    owner.join(teacher)
    owner.join(classroom)
    for count, value in enumerate((500, 510), start=1):  # e.g. a simulation tick's batch, then a command
        command(owner, teacher, TEACHER, {"kind": "set_parameter", "station": "press", "name": "clamp_force",
                                          "value": value})
        await patches(classroom, count)
    assert clock.now == CLOCK_START
    assert classroom.revision == owner.state.revision


async def test_under_load_patches_coalesce_to_the_flush_rate_with_contiguous_revision_ranges(
    paced: tuple[LineOwner, ManualClock],
) -> None:
    owner, clock = paced
    teacher = Inbox()
    owner.join(teacher)
    for count, value in enumerate(range(100, 120), start=1):  # one at a time: every one could go alone
        command(owner, teacher, TEACHER, {"kind": "set_parameter", "station": "press", "name": "clamp_force",
                                          "value": value})
        await answered(teacher, count)
    assert len(teacher.of("training.patch")) == FLUSH_BURST  # the clock stood still: the burst, then wait
    clock.advance(1 / FLUSH_RATE)
    await settled(owner, teacher)
    batches = teacher.of("training.patch")
    assert len(batches) == FLUSH_BURST + 1  # one interval later, the other 18 changes in one batch
    assert all(b["from"] == a["to"] + 1 for a, b in zip(batches, batches[1:], strict=False))
    assert teacher.document is not None
    assert teacher.document["stations"]["press"]["parameters"]["clamp_force"] == 119


async def test_under_load_a_batch_leaves_one_window_after_its_first_change_before_the_next_token(
    paced: tuple[LineOwner, ManualClock],
) -> None:
    owner, clock = paced
    teacher = Inbox()
    owner.join(teacher)
    for count, value in enumerate(range(100, 110), start=1):
        command(owner, teacher, TEACHER, {"kind": "set_parameter", "station": "press", "name": "clamp_force",
                                          "value": value})
        await answered(teacher, count)
    assert len(teacher.of("training.patch")) == FLUSH_BURST  # the tokens are spent; the rest waits
    assert FLUSH_WINDOW_S < 1 / FLUSH_RATE  # so no token comes back before the window ends
    clock.advance(FLUSH_WINDOW_S)
    await settled(owner, teacher)
    batches = teacher.of("training.patch")
    assert len(batches) == FLUSH_BURST + 1
    assert batches[-1]["to"] - batches[-1]["from"] == 10 - FLUSH_BURST - 1  # the other 8 changes together
    assert teacher.document is not None
    assert teacher.document["stations"]["press"]["parameters"]["clamp_force"] == 109


async def test_reconnecting_client_gets_the_missing_patches_or_a_fresh_snapshot(owner: LineOwner) -> None:
    teacher, returning = Inbox(), Inbox()
    owner.join(teacher)
    owner.join(returning)
    await settled(owner, teacher, returning)
    owner.leave(returning)
    left_at = returning.revision
    for value in (410, 420, 430):
        command(owner, teacher, TEACHER, {"kind": "set_parameter", "station": "press", "name": "clamp_force",
                                          "value": value})
    await answered(teacher, 3)
    await settled(owner, teacher)
    sent_before = len(returning.messages)
    owner.resync(returning, left_at)
    await settled(owner, returning)
    caught_up = returning.messages[sent_before:]
    assert caught_up and all(m["type"] == "training.patch" for m in caught_up)
    assert returning.document == owner.state.document()

    stranger = Inbox()
    owner.resync(stranger, 10_000)  # a revision this line never had: only a snapshot can help
    await wait_for(lambda: bool(stranger.of("training.snapshot")))
    assert stranger.document == owner.state.document()


async def test_every_accepted_command_and_patch_is_in_the_event_log_with_a_server_timestamp(
    owner: LineOwner, event_log: SqlEventLog
) -> None:
    teacher = Inbox()
    owner.join(teacher)
    wire = {"kind": "set_parameter", "station": "robot", "name": "speed", "value": 80}
    command(owner, teacher, TEACHER, wire)
    await answered(teacher, 1)
    await settled(owner, teacher)

    async def logged() -> list[Any]:
        return await event_log.read("L1")

    for _ in range(100):
        events = await logged()
        if any(e.kind == "patch" for e in events):
            break
        await asyncio.sleep(0.02)
    kinds = [e.kind for e in events]
    assert kinds[0] == "snapshot" and "command" in kinds and "patch" in kinds
    [logged_command] = [e for e in events if e.kind == "command"]
    assert logged_command.body == {"actor": {"subject": "alice", "role": "teacher", "school": "east"}, "command": wire}
    assert all(e.at > 1_600_000_000 for e in events)
