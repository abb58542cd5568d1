"""NodeSnapshot: every figure ``/metrics`` reports, read from the components at scrape time.

``NodeSources.snapshot()`` reads counters the components already keep (plain integers, no
work on the packet path) and asks the credits database for the ledger's head and newest
checkpoint (one short read transaction per scrape).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import psutil

from classroom.ledger.chain import Checkpoint
from media import MediaEngine, RelayStats, router_stats
from server.edge.database import Database, Tx
from server.edge.metrics.http_counts import RequestKey
from server.edge.metrics.loop_lag import LoopLag
from server.ledger.store import head_in, latest_checkpoint_in
from server.ledger.trust import TrustedHead
from server.live.channel.rooms import Rooms
from server.presence.log import PresenceLog
from server.replay.live_recordings import LiveRecordings

__all__ = ["LagHistogram", "NodeSnapshot", "NodeSources", "WorkerFigures"]


@dataclass(frozen=True)
class LagHistogram:
    counts: tuple[int, ...]
    """samples per bucket of ``server.edge.metrics.loop_lag.LAG_BUCKETS``, then above the largest bound"""
    total: float
    last: float


@dataclass(frozen=True)
class WorkerFigures:
    """One media worker process (``media.workers``) as seen at scrape time."""

    alive: bool
    consumers: int
    """subscribers' consumers it sends for now"""
    cpu_seconds: float
    """user + system CPU of its process (0.0 once it is gone: its series then ends with the process)"""
    pipe_drops: int
    """packets the pipe to it could not take"""


@dataclass(frozen=True)
class NodeSnapshot:
    ledger_refusals: int = 0
    ledger_trusted_seq: int = 0
    ledger_entries: int = 0
    ledger_checkpoint_age_s: float | None = None
    lessons_live: int = 0
    participants: dict[str, int] = field(default_factory=dict)
    """role -> lesson-channel connections"""
    feeds_live: dict[tuple[str, str], int] = field(default_factory=dict)
    """(lesson, kind) -> feeds with a producer now"""
    relay: dict[tuple[str, str], RelayStats] = field(default_factory=dict)
    """(lesson, kind) -> the router's counters"""
    recordings_in_progress: int = 0
    recording_bytes_written: int = 0
    presence_events_ingested: int = 0
    http_requests: dict[RequestKey, int] = field(default_factory=dict)
    loop_lag: LagHistogram = LagHistogram((), 0.0, 0.0)
    workers: dict[int, WorkerFigures] = field(default_factory=dict)
    """worker index -> its figures; empty without media workers"""


@dataclass(frozen=True)
class NodeSources:
    """The components a snapshot is read from."""

    trusted_head: TrustedHead
    rooms: Rooms
    engine: MediaEngine
    live_recordings: LiveRecordings
    presence_log: PresenceLog
    credits_db: Database
    loop_lag: LoopLag
    http_requests: Counter[RequestKey]
    clock: Callable[[], float]

    async def snapshot(self) -> NodeSnapshot:
        entries, checkpoint = await self.credits_db.read(_ledger_head_in)
        lag = self.loop_lag
        return NodeSnapshot(
            ledger_refusals=self.trusted_head.refusals,
            ledger_trusted_seq=0 if self.trusted_head.trusted is None else self.trusted_head.trusted.seq,
            ledger_entries=entries,
            ledger_checkpoint_age_s=None if checkpoint is None else self.clock() - _epoch(checkpoint.at),
            lessons_live=len(self.rooms.rooms),
            participants=self._participants(),
            feeds_live=self._feeds_live(),
            relay=self._relay(),
            recordings_in_progress=self.live_recordings.in_progress,
            recording_bytes_written=self.live_recordings.bytes_written,
            presence_events_ingested=self.presence_log.ingested,
            http_requests=dict(self.http_requests),
            loop_lag=LagHistogram(tuple(lag.counts), lag.total, lag.last),
            workers=self._workers(),
        )

    def _participants(self) -> dict[str, int]:
        roles = Counter(p.role.value for room in list(self.rooms.rooms.values())
                        for p in list(room.participants.values()))
        return dict(roles)

    def _feeds_live(self) -> dict[tuple[str, str], int]:
        return dict(Counter((lesson, kind) for lesson, router in list(self.engine.routers.items())
                            for kind in router.live_feeds().values()))

    def _relay(self) -> dict[tuple[str, str], RelayStats]:
        return {(lesson, kind): stats for lesson, router in list(self.engine.routers.items())
                for kind, stats in router_stats(router).items()}


    def _workers(self) -> dict[int, WorkerFigures]:
        pool = self.engine.workers
        if pool is None:
            return {}
        return {w.index: WorkerFigures(w.alive, len(w.remotes), _cpu_seconds(w.pid) if w.alive else 0.0,
                                       w.pipe_drops) for w in list(pool.workers)}


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _ledger_head_in(tx: Tx) -> tuple[int, Checkpoint | None]:
    """(entries in the ledger, its newest checkpoint); entries are numbered from 1 without gaps."""
    seq, _ = head_in(tx)
    return seq, latest_checkpoint_in(tx)


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
