"""LineOwner: the one task that owns a lesson's training line.

Everything that touches the state goes through the owner's inbox and runs on its
task, in order: commands, joins, resyncs, simulation ticks, patch flushes. So a
joiner gets a snapshot and then every later batch, with nothing in between lost or
doubled: pending changes are flushed to the others before the joiner's snapshot.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from classroom.errors import DomainError
from classroom.training.commands import Actor, Command, execute
from classroom.training.patches import Coalescer
from classroom.training.scenario import Scenario
from classroom.training.simulation import advance
from classroom.training.state import LineState, initial_state
from server.edge.errors import to_api_error
from server.edge.wire_json import dumps

from .event_log import Event, EventLog
from .flush_pacer import FlushPacer

__all__ = ["LineOwner", "Recipient"]

log = logging.getLogger(__name__)

TICK_S = 0.1  # simulation step
FLUSH_RATE = 20.0  # batches per second that may go out at once (under load the window paces)
FLUSH_BURST = 2.0  # batches that may go out at once on a quiet line
FLUSH_WINDOW_S = 0.018  # under load, no change waits longer than this for its batch
LOG_EVERY_S = 0.1  # the event log is appended at most this often, in batches (close() writes the rest)
SNAPSHOT_EVERY_S = 30.0
HISTORY = 512  # batches kept for reconnecting clients
INBOX = 1024


class Recipient(Protocol):
    def send(self, message: dict[str, Any]) -> None: ...
    def send_text(self, text: str) -> None: ...


class LineOwner:
    """``clock`` is the monotonic clock that paces ticks and flushes (the loop's by default);
    ``wall_clock`` stamps the event log."""

    def __init__(self, lesson_id: str, scenario: Scenario, event_log: EventLog,
                 wall_clock: Callable[[], float] = time.time, clock: Callable[[], float] | None = None) -> None:
        self.lesson_id = lesson_id
        self.scenario = scenario
        self.state: LineState = initial_state(scenario)
        self._log = event_log
        self._wall = wall_clock
        self._clock = clock or _loop_time
        self._pacer = FlushPacer(FLUSH_RATE, FLUSH_BURST, FLUSH_WINDOW_S)
        self._inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(INBOX)
        self._recipients: set[Recipient] = set()
        self._coalescer = Coalescer()
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self._pending_log: list[Event] = []
        self._last_snapshot = -SNAPSHOT_EVERY_S
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._log_ready = asyncio.Event()

    # --- public, callable from any handler ------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        self._writer = asyncio.ensure_future(self._write_log())

    def join(self, recipient: Recipient) -> None:
        self._put(("join", recipient))

    def leave(self, recipient: Recipient) -> None:
        self._put(("leave", recipient))

    def resync(self, recipient: Recipient, revision: int) -> None:
        self._put(("resync", recipient, revision))

    def submit(self, recipient: Recipient, actor: Actor, command: Command, wire: dict[str, Any],
               request_id: object) -> bool:
        """Queue a command (``wire`` is its JSON form, for the log); False when the line is saturated."""
        return self._put(("command", recipient, actor, command, wire, request_id))

    async def close(self) -> None:
        for task in (self._task, self._writer):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, self._writer) if t), return_exceptions=True)
        self._flush_log_now()
        with contextlib.suppress(Exception):
            await self._log.append(self._drain_log())

    # --- the owner task ---------------------------------------------------------------------

    def _put(self, item: tuple[Any, ...]) -> bool:
        try:
            self._inbox.put_nowait(item)
            return True
        except asyncio.QueueFull:
            return False

    async def _run(self) -> None:
        clock, pacer = self._clock, self._pacer
        next_tick = clock() + TICK_S
        self._snapshot_to_log()
        while True:
            now = clock()
            timeout = min(next_tick - now, pacer.wait(now)) if self._coalescer else next_tick - now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, timeout)):
                    self._handle(await self._inbox.get())
            while not self._inbox.empty():
                self._handle(self._inbox.get_nowait())
            now = clock()
            next_tick = self._tick(now, next_tick)
            if self._coalescer and pacer.wait(now) == 0.0:
                self._flush()

    def _tick(self, now: float, next_tick: float) -> float:
        """Advance the simulation to ``now``; the time of the next tick."""
        ticks = 0
        while now >= next_tick and ticks < 10:  # catch up after a stall, but never spiral
            self._advance(TICK_S)
            next_tick += TICK_S
            ticks += 1
        return now + TICK_S if now >= next_tick else next_tick

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind, recipient, *rest = item
        if kind == "command":
            self._command(recipient, *rest)
        elif kind == "join":
            self._flush()
            self._recipients.add(recipient)
            recipient.send(self._snapshot_message())
        elif kind == "leave":
            self._recipients.discard(recipient)
        elif kind == "resync":
            self._resync(recipient, rest[0])

    def _command(self, recipient: Recipient, actor: Actor, command: Command, wire: dict[str, Any],
                 request_id: object) -> None:
        before = self.state
        try:
            self.state, changes = execute(before, actor, command)
        except DomainError as exc:
            error = to_api_error(exc)
            recipient.send(_with_id({"type": "error", "code": error.code, "message": error.message}, request_id))
            return
        if changes:
            self._coalescer.add(self.state.revision, changes, before.values)
            self._pacer.changed(self._clock())
            self._record("command", {"actor": actor.to_json(), "command": wire})
        recipient.send(_with_id({"type": "training.accepted", "revision": self.state.revision}, request_id))

    def _advance(self, dt: float) -> None:
        before = self.state
        self.state, changes = advance(before, dt)
        if changes:
            self._coalescer.add(self.state.revision, changes, before.values)
            self._pacer.changed(self._clock())
        if self.state.time - self._last_snapshot >= SNAPSHOT_EVERY_S:
            self._snapshot_to_log()

    def _flush(self) -> None:
        batch = self._coalescer.drain()
        if batch is None:
            return
        self._pacer.spend(self._clock())
        message = {"type": "training.patch", "time": self.state.time, **batch}
        self._history.append(message)
        self._record("patch", {key: message[key] for key in ("from", "to", "time", "ops")}, batch["to"])
        text = dumps(message)  # once for every recipient
        for recipient in list(self._recipients):
            recipient.send_text(text)

    def _resync(self, recipient: Recipient, revision: int) -> None:
        self._flush()
        missing = [batch for batch in self._history if batch["to"] > revision]
        if missing and missing[0]["from"] <= revision + 1 and revision <= self.state.revision:
            for batch in missing:
                recipient.send(batch)
        elif revision != self.state.revision:
            recipient.send(self._snapshot_message())
        self._recipients.add(recipient)

    def _snapshot_message(self) -> dict[str, Any]:
        return {"type": "training.snapshot", "scenario": self.scenario.id, "revision": self.state.revision,
                "time": self.state.time, "state": self.state.document()}

    # --- the event log --------------------------------------------------------------------

    def _snapshot_to_log(self) -> None:
        self._last_snapshot = self.state.time
        self._record("snapshot", {"time": self.state.time, "state": self.state.document(),
                                  "scenario": self.scenario.id, "rng": self.state.rng})

    def _record(self, kind: str, body: dict[str, Any], revision: int | None = None) -> None:
        rev = self.state.revision if revision is None else revision
        self._pending_log.append(Event(self.lesson_id, self._wall(), kind, rev, body))
        self._log_ready.set()

    def _drain_log(self) -> list[Event]:
        events, self._pending_log = self._pending_log, []
        return events

    def _flush_log_now(self) -> None:
        self._log_ready.set()

    async def _write_log(self) -> None:
        """Append what was recorded, in batches: one append per LOG_EVERY_S at most keeps the log's
        thread (and its hold on the GIL) from competing with the owner for every command."""
        while True:
            await self._log_ready.wait()
            self._log_ready.clear()
            events = self._drain_log()
            try:
                await self._log.append(events)
            except Exception:
                log.exception("training log append failed lesson=%s events=%d", self.lesson_id, len(events))
            await asyncio.sleep(LOG_EVERY_S)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _with_id(message: dict[str, Any], request_id: object) -> dict[str, Any]:
    if request_id is not None:
        message["id"] = request_id
    return message

