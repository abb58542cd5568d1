"""The training line's flush pacing alone, in virtual time: how long a change waits for its batch.

No server, CPU or network: the owner's loop (a batch goes out whenever something is pending
and server/training/flush_pacer.FlushPacer allows it; a running line's simulation tick adds
a change every 0.1 s) replayed over seeded Poisson command arrivals. ``burst 1`` is the
first policy (a batch at most every 1/rate seconds after the last one), the token bucket the
second, and a window (no change waits longer than it, under load) the owner's now. Use it beside
bench/state_sync.py when the machine is shared and end-to-end figures are noisy.

    python bench/flush_pacing.py [--seconds 60] [--rates 5,20,50,200]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.training.flush_pacer import FlushPacer  # noqa: E402

TICK_S = 0.1
POLICIES: dict[str, tuple[float, float, float | None]] = {
    "min interval 20/s": (20.0, 1.0, None), "token bucket 20/s burst 2 (before)": (20.0, 2.0, None),
    "token bucket 50/s burst 2": (50.0, 2.0, None), "bucket 20/s + window 12 ms": (20.0, 2.0, 0.012),
    "bucket 20/s + window 18 ms (now)": (20.0, 2.0, 0.018), "bucket 20/s + window 25 ms": (20.0, 2.0, 0.025)}


def changes(rate: float, seconds: float, seed: int) -> list[tuple[float, bool]]:
    """(time, is a command) for Poisson commands at ``rate`` and a simulation tick every TICK_S."""
    rng = random.Random(seed)
    out, at = [], rng.expovariate(rate)
    while at < seconds:
        out.append((at, True))
        at += rng.expovariate(rate)
    out += [(k * TICK_S, False) for k in range(1, int(seconds / TICK_S))]
    return sorted(out)


def replay(pacer: FlushPacer, events: list[tuple[float, bool]]) -> tuple[list[float], int]:
    """Each command's wait for its batch, and the number of batches."""
    waits: list[float] = []
    pending: list[tuple[float, bool]] = []
    batches, index, now = 0, 0, 0.0
    while index < len(events) or pending:
        due = now + pacer.wait(now) if pending else float("inf")
        now = min(due, events[index][0]) if index < len(events) else due
        while index < len(events) and events[index][0] <= now:
            pending.append(events[index])
            pacer.changed(events[index][0])
            index += 1
        if pending and pacer.wait(now) == 0.0:
            pacer.spend(now)
            waits += [now - at for at, command in pending if command]
            pending, batches = [], batches + 1
    return waits, batches


def figures(waits: list[float], batches: int, seconds: float) -> dict[str, float]:
    waits = sorted(waits)

    def pct(p: float) -> float:
        return round(1000 * waits[min(len(waits) - 1, int(p * len(waits)))], 1)

    return {"wait_p50_ms": pct(0.5), "wait_p99_ms": pct(0.99), "wait_max_ms": pct(1.0),
            "batches_per_s": round(batches / seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rates", default="5,20,50,200", help="commands per second, comma-separated")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for rate in (float(r) for r in args.rates.split(",")):
        events = changes(rate, args.seconds, seed=7)
        for name, (flush_rate, burst, window) in POLICIES.items():
            row = {"commands_per_s": rate, "policy": name,
                   **figures(*replay(FlushPacer(flush_rate, burst, window), events), args.seconds)}
            print(f"{rate:5.0f} commands/s  {name:34s} wait p50 {row['wait_p50_ms']:5.1f} ms  "
                  f"p99 {row['wait_p99_ms']:5.1f} ms  batches {row['batches_per_s']:4.1f}/s")
            results.append(row)
    print(json.dumps(results, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
