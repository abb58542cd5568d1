"""Credit-bank benchmarks: presence ingest, a lesson's attendance, verifying a million ledger entries.

All three go through the project's own code; the last line printed is one JSON object.

1. ``events_per_s``: presence events appended through ``server.presence.log.PresenceLog`` (group
   commit, one fsync per commit) on ``SqliteDatabase`` with ``PRESENCE_SCHEMA``, loaded as the
   server loads it: 40 classrooms each sending roster ticks of 50 students (one ``append`` of 50
   events, awaited before the next) while the heartbeat caller appends a batch for 40 sessions at a
   time, ~100,000 events in all. Also p50/p99 latency of one ``append`` call. The same again on
   PostgreSQL (``DATABASE_URL``, default the local server) in a throwaway schema ``bench_<hex>``
   (``events_per_s_postgres``; skipped with a note if PostgreSQL cannot be reached). Target >= 5,000/s.
2. ``attendance_s``: a 2-hour lesson of 40 classrooms x 50 students built like ``server/edge/app.py``
   builds it (directory, presence log, lessons, attendance, credit bank on one SQLite credits DB),
   its ~30,000 presence events (joins, a heartbeat per session every 15 s, drops and reconnects,
   roster ticks, self check-ins, late arrivals, early check-outs, 4 roll calls) appended through
   PresenceLog, then the median of a few ``Attendance.compute(lesson)`` calls (events, overrides and
   excuses loaded from the DB, policy, overrides). Target <= 2 s. Then ``CreditBank.post_lesson``
   (``post_lesson_s``, entries created) into a ledger holding every student's 6 earlier lessons.
3. ``verify_1m_s``: a credits DB filled with 1,000,000 entries (``append_in`` in transactions of
   10,000 drafts, a signed checkpoint each; earned/recognised/reversal/voided/level-change mix),
   then ``classroom ledger verify --data-dir DIR`` (``server.edge.cli.main``, the number users see) and
   ``LedgerStore.verify`` (store level). Target <= 30 s. ``--quick`` fills 100,000 entries and
   extrapolates linearly (``verify_1m_s_extrapolated: true``).

    python bench/ledger.py [--quick] [--rounds 50] [--entries 1000000] [--runs 5] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ledger_data import (  # noqa: E402
    COURSE,
    LESSON_S,
    PRIOR_LESSONS,
    Batch,
    Cohort,
    ledger_batches,
    lesson_batches,
    seed_history_in,
)

from classroom.access import Claims  # noqa: E402
from classroom.attendance import PresenceEvent, PresenceKind  # noqa: E402
from classroom.ledger import format_at  # noqa: E402
from classroom.lessons import Lesson  # noqa: E402
from classroom.levels import DEFAULT_THRESHOLDS  # noqa: E402
from classroom.principal import Principal  # noqa: E402
from classroom.roles import Role  # noqa: E402
from server.attendance.service import Attendance  # noqa: E402
from server.credits.bank import CreditBank  # noqa: E402
from server.credits.posting import Posted  # noqa: E402
from server.directory.store import DirectoryStore  # noqa: E402
from server.edge import cli  # noqa: E402
from server.edge.app import CREDITS_SCHEMA_SQL, DB_FILE  # noqa: E402
from server.edge.database import DEFAULT_POSTGRES_URL, Database, PostgresDatabase, SqliteDatabase  # noqa: E402
from server.ledger.checkpoints import CheckpointSigner  # noqa: E402
from server.ledger.store import CREDITS_DB_FILE, LedgerStore, append_in  # noqa: E402
from server.lessons.service import Lessons  # noqa: E402
from server.lessons.store import LESSONS_SCHEMA, SqlLessonStore  # noqa: E402
from server.presence.log import PRESENCE_SCHEMA, PresenceLog  # noqa: E402

T = TypeVar("T")

TARGETS = {"events_per_s": 5000, "attendance_s": 2.0, "verify_1m_s": 30.0}
ROOMS, PER_ROOM = 40, 50
T0 = 1_790_000_000.0  # a lesson in 2026
FILL_BATCH = 10_000
POLICY = "2026.1"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


# --- 1. presence ingest ----------------------------------------------------------------------------


def _roster_tick(lesson: str, room: str, n: int, codes: list[str], now: float) -> list[PresenceEvent]:
    way, kind = ("in", PresenceKind.STUDENT_CHECKIN) if n % 2 == 0 else ("out", PresenceKind.STUDENT_CHECKOUT)
    return [PresenceEvent(lesson=lesson, kind=kind, at=now, classroom=room, student=code, source="roster",
                          key=f"{lesson}:roster:{room}:{n}:{way}:{code}") for code in codes]


def _beats(lesson: str, n: int, now: float) -> list[PresenceEvent]:
    return [PresenceEvent(lesson=lesson, kind=PresenceKind.CLASSROOM_HEARTBEAT, at=now, classroom=f"room-{k:02d}",
                          session=f"room-{k:02d}-s1", source="server", key=f"{lesson}:beat:room-{k:02d}-s1:{n}")
            for k in range(ROOMS)]


async def ingest(db: Database, rounds: int) -> dict[str, Any]:
    """40 roster callers and one heartbeat caller, each awaiting its append before the next."""
    await db.open()
    log = PresenceLog(db)
    log.start()
    lesson, latencies, created = f"ingest-{secrets.token_hex(4)}", [], collections.Counter[str]()

    async def timed(events: list[PresenceEvent], author: str) -> None:
        started = time.perf_counter()
        created.update(await log.append(events, author))
        latencies.append((time.perf_counter() - started) * 1000)

    async def classroom(k: int) -> None:
        codes = [f"SW-{k:02d}-{i:03d}" for i in range(PER_ROOM)]
        for n in range(rounds):
            await timed(_roster_tick(lesson, f"room-{k:02d}", n, codes, time.time()), f"room-{k:02d}")

    async def heartbeats() -> None:
        for n in range(rounds):
            await timed(_beats(lesson, n, time.time()), "server")

    try:
        started = time.perf_counter()
        await asyncio.gather(heartbeats(), *(classroom(k) for k in range(ROOMS)))
        elapsed = time.perf_counter() - started
        stored = len(await log.events(lesson))
    finally:
        await log.close()
        await db.close()
    events = sum(created.values())
    assert created["created"] == events == stored, f"created {created}, stored {stored}"
    return {"events": events, "calls": len(latencies), "seconds": elapsed, "events_per_s": events / elapsed,
            "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99), "max_ms": max(latencies)}


def _print_ingest(engine: str, r: dict[str, Any]) -> None:
    print(f"  {engine:<10} {r['events']:>7,} events in {r['calls']:,} appends, {r['seconds']:.2f} s: "
          f"{r['events_per_s']:>8,.0f} events/s; append p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
          f"max {r['max_ms']:.1f} ms")


async def ingest_postgres(rounds: int) -> dict[str, Any] | None:
    import psycopg

    url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    namespace = f"bench_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        print(f"  postgresql skipped: {url} unreachable ({str(exc).strip().splitlines()[0]})")
        return None
    try:
        return await ingest(PostgresDatabase(url, PRESENCE_SCHEMA, namespace=namespace, name="bench-pg"), rounds)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE'.encode())


# --- 2. a lesson's attendance and its posting ------------------------------------------------------


class Clock:
    """The wall clock of lessons, attendance and the bank, set by the bench."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _claims(subject: str, role: Role) -> Claims:
    return Claims(Principal("east", role, subject), lesson="*", grants=(), expires_at=int(T0) + 86_400)


async def _append_all(log: PresenceLog, batches: list[Batch], window: int = 64) -> collections.Counter[str]:
    """The batches in time order, up to ``window`` appends in flight (as concurrent requests would be)."""
    outcome = collections.Counter[str]()
    for start in range(0, len(batches), window):
        chunk = batches[start:start + window]
        for results in await asyncio.gather(*(log.append(b.events, b.author) for b in chunk)):
            outcome.update(results)
    return outcome


async def timed(fn: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    started = time.perf_counter()
    result = await fn()
    return result, time.perf_counter() - started


async def _probe(log: PresenceLog, stop: asyncio.Event, count: int) -> list[float]:
    """Latencies (ms) of heartbeat appends for another live lesson, one every 10 ms until ``stop``."""
    latencies: list[float] = []
    lesson = f"other-{secrets.token_hex(4)}"
    for n in range(count):
        if stop.is_set():
            break
        started = time.perf_counter()
        await log.append(_beats(lesson, n, T0 + n), "server")
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    return latencies


@dataclass
class Stack:
    """The credit-bank components as ``server.edge.app._components`` builds them, on one SQLite credits DB."""

    clock: Clock
    db: SqliteDatabase
    log: PresenceLog
    lessons: Lessons
    attendance: Attendance
    bank: CreditBank

    @classmethod
    def build(cls, data_dir: Path, clock: Clock) -> Stack:
        db = SqliteDatabase(data_dir / CREDITS_DB_FILE, CREDITS_SCHEMA_SQL, name="credits-db")
        people = DirectoryStore(db)
        log = PresenceLog(db)
        lessons = Lessons(SqlLessonStore(SqliteDatabase(data_dir / DB_FILE, LESSONS_SCHEMA)), clock=clock)
        attendance = Attendance(db, log, lessons, people, POLICY, clock=clock)
        bank = CreditBank(db, CheckpointSigner.load_or_create(data_dir), attendance, lessons, people,
                          DEFAULT_THRESHOLDS, clock=clock)
        return cls(clock, db, log, lessons, attendance, bank)

    async def open(self) -> None:
        await self.db.open()
        await self.lessons.store.open()
        self.log.start()

    async def close(self) -> None:
        await self.log.close()
        await self.lessons.store.close()
        await self.db.close()


async def stage_lesson(stack: Stack, cohort: Cohort) -> tuple[Lesson, list[Batch], collections.Counter[str], float]:
    """Directory and ledger history, then the lesson: live at T0, its events, ended 2 h later, two
    corrections the next morning. Returns (lesson, batches, append outcome, append seconds)."""
    await stack.db.transact(cohort.seed_in)
    await stack.db.transact(seed_history_in, cohort, format_at(datetime.fromtimestamp(T0 - 86_400, UTC)))
    teacher, admin = _claims("alice", Role.TEACHER), _claims("carol", Role.ADMIN)
    lesson = await stack.lessons.create(teacher, {"title": "CNC machining: tool offsets", "course": COURSE})
    stack.clock.now = T0
    await stack.lessons.go_live(lesson.id)
    batches = lesson_batches(lesson.id, T0, cohort)
    outcome, ingest_s = await timed(lambda: _append_all(stack.log, batches))
    stack.clock.now = T0 + LESSON_S
    lesson = await stack.lessons.end(teacher, lesson.id)
    stack.clock.now = T0 + LESSON_S + 600
    back = next(b.events[0] for b in batches if b.events[0].kind is PresenceKind.CLASSROOM_JOIN and b.at > T0 + 600)
    await stack.attendance.excuse(admin, lesson.id, {"classroom": back.classroom, "start": back.at - 900,
                                                     "end": back.at, "reason": "school network outage"}, "x-1")
    await stack.attendance.override(admin, lesson.id, {"student": "SW-01-000", "status": "excused",
                                                       "reason": "sick note"}, "o-1")
    return lesson, batches, outcome, ingest_s


async def post_with_probe(stack: Stack, lesson: str) -> tuple[Posted | None, float, list[float]]:
    """``post_lesson`` while another live lesson keeps appending heartbeats; (posted, s, probe ms)."""
    stop = asyncio.Event()
    probe = asyncio.get_running_loop().create_task(_probe(stack.log, stop, 10**9))
    try:
        posted, seconds = await timed(lambda: stack.bank.post_lesson(lesson))
    finally:
        stop.set()
        during = await probe
    return posted, seconds, during


async def attendance_bench(data_dir: Path, runs: int) -> dict[str, Any]:
    cohort, stack = Cohort(ROOMS, PER_ROOM), Stack.build(data_dir, Clock(T0 - 3600))
    await stack.open()
    try:
        (lesson, batches, outcome, ingest_s), setup_s = await timed(lambda: stage_lesson(stack, cohort))
        computed = [await timed(lambda: stack.attendance.compute(lesson)) for _ in range(runs)]
        idle = await _probe(stack.log, asyncio.Event(), 20)  # nothing else running
        posted, post_s, during = await post_with_probe(stack, lesson.id)
        again, repost_s = await timed(lambda: stack.bank.post_lesson(lesson.id))
    finally:
        await stack.close()
    events = sum(len(b.events) for b in batches)
    rows = computed[-1][0].attendance.students
    statuses = collections.Counter(row.status.value for row in rows)
    assert outcome["created"] == events, outcome
    assert len(rows) == ROOMS * PER_ROOM and statuses["present"] > 0.8 * len(rows), statuses
    assert posted is not None and again is not None and not again.created, "posting twice must append nothing"
    return {"events": events, "by_kind": dict(collections.Counter(e.kind.value for b in batches for e in b.events)),
            "appends": len(batches), "ingest_s": ingest_s, "setup_s": setup_s, "runs": [s for _, s in computed],
            "attendance_s": statistics.median(s for _, s in computed), "students": len(rows),
            "classrooms": len(computed[-1][0].attendance.classrooms), "statuses": dict(statuses),
            "credited": sum(row.credit for row in rows), "post_lesson_s": post_s, "entries": len(posted.created),
            "entry_kinds": dict(collections.Counter(e.kind.value for e in posted.created)), "repost_s": repost_s,
            "probe_idle_p50_ms": pct(idle, 0.5), "probe_idle_max_ms": max(idle), "probe_post_max_ms": max(during),
            "probe_post_calls": len(during)}


def _print_attendance(r: dict[str, Any]) -> None:
    kinds = ", ".join(f"{kind.split('.')[-1]} {n:,}" for kind, n in sorted(r["by_kind"].items()))
    print(f"  {r['events']:,} presence events in {r['appends']:,} appends ({kinds}); "
          f"appended in {r['ingest_s']:.2f} s; set-up {r['setup_s']:.1f} s incl. "
          f"{ROOMS * PER_ROOM * PRIOR_LESSONS * 2:,} earlier ledger entries")
    print(f"  compute: {r['students']:,} students, {r['classrooms']} classrooms; runs "
          + ", ".join(f"{s:.3f}" for s in r["runs"]) + f" s; median {r['attendance_s']:.3f} s")
    print("  statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["statuses"].items()))
          + f"; credited {r['credited']:,}")
    print(f"  post_lesson: {r['post_lesson_s']:.3f} s, {r['entries']:,} entries ("
          + ", ".join(f"{k} {v:,}" for k, v in sorted(r["entry_kinds"].items()))
          + f"); posting again: {r['repost_s']:.3f} s, 0 new")
    print(f"  another live lesson's heartbeat append: idle p50 {r['probe_idle_p50_ms']:.1f} ms, "
          f"max {r['probe_idle_max_ms']:.1f} ms; while the posting runs, max {r['probe_post_max_ms']:.1f} ms "
          f"({r['probe_post_calls']} appends): the presence log shares the credits DB's one writer thread")


# --- 3. verifying the ledger --------------------------------------------------------------------


async def fill(data_dir: Path, total: int) -> tuple[float, int]:
    """``total`` entries in transactions of FILL_BATCH, each signing its head; (seconds, checkpoints)."""
    signer = CheckpointSigner.load_or_create(data_dir)
    db = SqliteDatabase(data_dir / CREDITS_DB_FILE, CREDITS_SCHEMA_SQL, name="credits-db")
    await db.open()
    started, transactions = time.perf_counter(), 0
    try:
        for drafts in ledger_batches(total, FILL_BATCH):
            appended = await db.transact(append_in, drafts, format_at(datetime.now(UTC)), signer)
            assert all(a.created for a in appended)
            transactions += 1
    finally:
        await db.close()
    return time.perf_counter() - started, transactions


async def verify_store(data_dir: Path) -> tuple[Any, float]:
    db = SqliteDatabase(data_dir / CREDITS_DB_FILE, (), name="ledger-verify")
    await db.open()
    try:
        verifier = CheckpointSigner.load_or_create(data_dir).verifier()
        return await timed(lambda: LedgerStore(db, None).verify(verifier))
    finally:
        await db.close()


def verify_cli(data_dir: Path) -> tuple[int, str, float]:
    """``classroom ledger verify --data-dir DIR`` in this process; (exit status, output, seconds)."""
    os.environ.pop("CLASSROOM_DATABASE_URL", None)  # the bench's own SQLite file, not a configured server's
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        status = cli.main(["ledger", "verify", "--data-dir", str(data_dir)])
    return status, out.getvalue(), time.perf_counter() - started


def verify_bench(tmp: Path, total: int, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> dict[str, Any]:
    data_dir = tmp / "ledger"
    fill_s, transactions = run(fill(data_dir, total))
    size_mb = sum(p.stat().st_size for p in data_dir.glob(f"{CREDITS_DB_FILE}*")) / 1e6
    report, store_s = run(verify_store(data_dir))
    status, output, cli_s = verify_cli(data_dir)
    assert report.ok and report.entries == total, report
    assert status == 0, f"ledger verify exited {status}:\n{output}"
    return {"entries": total, "fill_s": fill_s, "transactions": transactions, "db_mb": size_mb,
            "checkpoints": report.checkpoints, "store_s": store_s, "cli_s": cli_s, "cli_output": output.strip()}


def _print_verify(r: dict[str, Any]) -> None:
    print(f"  filled {r['entries']:,} entries in {r['transactions']} transactions ({r['checkpoints']} checkpoints) "
          f"in {r['fill_s']:.1f} s ({r['entries'] / r['fill_s']:,.0f} entries/s), {r['db_mb']:.0f} MB")
    print(f"  LedgerStore.verify: {r['store_s']:.2f} s ({r['entries'] / r['store_s']:,.0f} entries/s)")
    print(f"  classroom ledger verify: {r['cli_s']:.2f} s ({r['entries'] / r['cli_s']:,.0f} entries/s)")
    for line in r["cli_output"].splitlines():
        print(f"    | {line}")


def fsync_ms(directory: Path, times: int = 100) -> float:
    """The cost of one 4 kB write + fsync here: what every commit pays (context for the figures)."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        started = time.perf_counter()
        for _ in range(times):
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
        return (time.perf_counter() - started) / times * 1000
    finally:
        os.close(fd)
        path.unlink()


# --- the run ---------------------------------------------------------------------------------------


def runner() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """asyncio.run on uvloop when installed (uvicorn's ``loop="auto"`` picks it for the server)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return lambda coro: asyncio.Runner(loop_factory=uvloop.new_event_loop).run(coro)


def _line(name: str, value: float, unit: str, target: str, ok: bool | None, note: str = "") -> None:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    print(f"  {name:<24} {value:>12,.3f} {unit:<9} {target:<12} {verdict:<7}{note}")


def summary(args: argparse.Namespace, pg: dict[str, Any] | None, lite: dict[str, Any], att: dict[str, Any],
            ver: dict[str, Any]) -> dict[str, Any]:
    scale = 1_000_000 / ver["entries"]
    verify_1m = ver["cli_s"] * scale
    extrapolated = ver["entries"] != 1_000_000
    passed = {"events_per_s": lite["events_per_s"] >= TARGETS["events_per_s"],
              "attendance_s": att["attendance_s"] <= TARGETS["attendance_s"],
              "verify_1m_s": verify_1m <= TARGETS["verify_1m_s"]}
    print(f"\nsummary ({os.cpu_count()} cores{', quick' if args.quick else ''})")
    print(f"  {'figure':<24} {'value':>12} {'unit':<9} {'target':<12}")
    _line("events_per_s (sqlite)", lite["events_per_s"], "events/s", ">= 5,000", passed["events_per_s"])
    _line("append_p99_ms (sqlite)", lite["p99_ms"], "ms", "", None)
    if pg is not None:
        _line("events_per_s_postgres", pg["events_per_s"], "events/s", "(>= 5,000)", pg["events_per_s"] >= 5000)
    _line("attendance_s", att["attendance_s"], "s", "<= 2", passed["attendance_s"],
          f"{att['students']:,} students, {att['events']:,} events")
    _line("post_lesson_s", att["post_lesson_s"], "s", "", None, f"{att['entries']:,} entries")
    _line("verify_1m_s", verify_1m, "s", "<= 30", passed["verify_1m_s"],
          f"CLI; extrapolated from {ver['entries']:,}" if extrapolated else "CLI")
    _line("verify_1m_s (store)", ver["store_s"] * scale, "s", "", None, "LedgerStore.verify")
    _line("fill_1m_s", ver["fill_s"] * scale, "s", "", None, "append_in, 10,000 per transaction")
    return {
        "events_per_s": round(lite["events_per_s"]), "append_p50_ms": round(lite["p50_ms"], 2),
        "append_p99_ms": round(lite["p99_ms"], 2), "ingest_events": lite["events"],
        "events_per_s_postgres": round(pg["events_per_s"]) if pg else None,
        "append_p99_ms_postgres": round(pg["p99_ms"], 2) if pg else None,
        "attendance_s": round(att["attendance_s"], 4), "students": att["students"], "events": att["events"],
        "statuses": att["statuses"], "post_lesson_s": round(att["post_lesson_s"], 4), "entries": att["entries"],
        "append_max_ms_during_post": round(att["probe_post_max_ms"], 1),
        "verify_1m_s": round(verify_1m, 2), "verify_1m_s_extrapolated": extrapolated,
        "verify_entries": ver["entries"], "verify_store_s": round(ver["store_s"], 2),
        "verify_cli_s": round(ver["cli_s"], 2), "fill_s": round(ver["fill_s"], 2), "cores": os.cpu_count(),
        "quick": args.quick, "targets": TARGETS, "pass": all(passed.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 ingest rounds, 3 compute runs, 100,000 entries")
    parser.add_argument("--rounds", type=int, default=50, help="roster ticks per classroom (2,040 events each)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger entries to verify")
    parser.add_argument("--runs", type=int, default=5, help="Attendance.compute runs (the median is reported)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL ingest run")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.runs, args.entries = 10, 3, 100_000
    run = runner()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as name:
        tmp = Path(name)
        disk_ms = fsync_ms(tmp)
        print(f"{os.cpu_count()} cores; one write + fsync in {tmp.parent} costs {disk_ms:.2f} ms")
        print(f"1. presence ingest: {ROOMS} classrooms x {PER_ROOM}-student roster ticks + heartbeats, "
              f"{args.rounds} rounds")
        lite = run(ingest(SqliteDatabase(tmp / "presence.db", PRESENCE_SCHEMA, name="bench-sqlite"), args.rounds))
        _print_ingest("sqlite", lite)
        pg = None if args.no_postgres else run(ingest_postgres(args.rounds))
        if pg is not None:
            _print_ingest("postgresql", pg)
        print(f"2. attendance of a {LESSON_S / 3600:.0f}-hour lesson, {ROOMS} classrooms x {PER_ROOM} students")
        (tmp / "lesson").mkdir()
        att = run(attendance_bench(tmp / "lesson", args.runs))
        _print_attendance(att)
        print(f"3. ledger verification, {args.entries:,} entries")
        ver = verify_bench(tmp, args.entries, run)
        _print_verify(ver)
    result = {**summary(args, pg, lite, att, ver), "fsync_ms": round(disk_ms, 3)}
    print(json.dumps(result, separators=(",", ":")))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
