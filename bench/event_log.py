"""The training event log's group commit: many lessons appending at once, every append fsynced.

``--lessons`` lesson writers each append ``--appends`` batches of one patch (a line's flush) as
fast as the log acknowledges them, on SQLite (WAL, synchronous=FULL) and, when reachable, on
PostgreSQL (``DATABASE_URL``, a throwaway schema). Printed: acknowledged appends per second, commits
(fsyncs) and appends per commit, and the p50/p99 wait of one append. A live lesson flushes at most
20 times a second, so ``appends_per_s / 20`` is how many lessons one node's log keeps up with.

    python bench/event_log.py [--lessons 1,20,100] [--appends 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from server.edge.database import DEFAULT_POSTGRES_URL, Database, PostgresDatabase, SqliteDatabase  # noqa: E402
from server.training.event_log import TRAINING_SCHEMA, Event, SqlEventLog  # noqa: E402

BODY = {"from": 1, "to": 2, "ops": [{"op": "replace", "path": "/stations/3/temperature", "value": 212.5}]}


async def lesson_writer(log: SqlEventLog, lesson: str, appends: int, waits: list[float]) -> None:
    for n in range(appends):
        started = time.perf_counter()
        await log.append([Event(lesson, time.time(), "patch", n, BODY)])
        waits.append(time.perf_counter() - started)


async def run(db: Database, lessons: int, appends: int) -> dict[str, Any]:
    log = SqlEventLog(db)
    await log.open()
    waits: list[float] = []
    try:
        started = time.perf_counter()
        await asyncio.gather(*(lesson_writer(log, f"L{k}", appends, waits) for k in range(lessons)))
        elapsed = time.perf_counter() - started
        commits = log.commits
    finally:
        await log.close()
    waits.sort()
    total = lessons * appends
    return {"lessons": lessons, "appends": total, "appends_per_s": round(total / elapsed),
            "commits": commits, "appends_per_commit": round(total / max(1, commits), 1),
            "wait_ms_p50": round(statistics.median(waits) * 1000, 2),
            "wait_ms_p99": round(waits[min(len(waits) - 1, int(len(waits) * 0.99))] * 1000, 2)}


async def sqlite_case(lessons: int, appends: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-event-log-") as tmp:
        return await run(SqliteDatabase(Path(tmp) / "training.db", TRAINING_SCHEMA, name="bench"), lessons, appends)


async def postgres_case(url: str, lessons: int, appends: int) -> dict[str, Any]:
    namespace = f"bench_{secrets.token_hex(4)}"
    try:
        return await run(PostgresDatabase(url, TRAINING_SCHEMA, namespace=namespace, name="bench"), lessons, appends)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE'.encode())


def postgres_reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


async def _awaited(pending: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return await pending


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", default="1,20,100")
    parser.add_argument("--appends", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    engines: dict[str, Callable[[int, int], Awaitable[dict[str, Any]]]] = {"sqlite": sqlite_case}
    if postgres_reachable(url):
        engines["postgresql"] = lambda lessons, appends: postgres_case(url, lessons, appends)
    results: dict[str, list[dict[str, Any]]] = {}
    for engine, case in engines.items():
        for lessons in (int(x) for x in args.lessons.split(",")):
            figures = asyncio.run(_awaited(case(lessons, args.appends)))
            results.setdefault(engine, []).append(figures)
            print(f"{engine:10} lessons={lessons:4} appends/s={figures['appends_per_s']:7} "
                  f"commits={figures['commits']:6} per-commit={figures['appends_per_commit']:6} "
                  f"wait p50={figures['wait_ms_p50']} ms p99={figures['wait_ms_p99']} ms")
    print(json.dumps({"load": os.getloadavg()[0], **results}))


if __name__ == "__main__":
    main()
