"""Weak-link benchmark (issue 12): what a classroom behind a weak link sees of a ~2 Mbit/s lesson.

    sudo python bench/weak_link.py                    # Chromium viewers, 30 s windows (~4 min)
    sudo python bench/weak_link.py --quick            # aiortc viewers, 8 s windows (~1.5 min)
    sudo python bench/weak_link.py --viewer aiortc --scenarios clean,lossy_1mbit

A teacher WHIP-publishes pre-encoded 720p VP8 (~2.1 Mbit/s) + Opus to ``python -m server serve``;
a clean viewer watches beside the server; for each scenario a weak viewer watches from a network
namespace behind a veth shaped with ``tc tbf`` and made lossy with nftables (bench/weak_link_net.py).
Figures per scenario: whether the weak viewer connected, its audio concealment, video frames
decoded per second, freeze seconds, resolution, received rate, loss; after the burst, the time
back to 80 % of the frame rate before it; and what the clean viewer saw meanwhile (keyframes,
freezes). With UDP blocked the weak viewer takes the server's ICE servers (GET /api/ice-servers):
TURN over TCP and TLS on a real coturn beside the server (bench/coturn.py), when it is installed.
Needs root, iproute2 and nftables (and /usr/bin/chromium for Chromium viewers, coturn for TURN).
The last line printed is one JSON object, with the issue's targets and pass/fail per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Any

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for _p in (BENCH, ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from weak_link_net import CLEAN, Impairment, missing_requirements, sweep_stale  # noqa: E402
from weak_link_session import Scenario, WeakLinkSession  # noqa: E402

TARGET_WINDOW_S = 30.0  # the issue's targets are per 30 s window


def scenarios(window: float, quick: bool) -> list[Scenario]:
    pre, after = (3.0, 4.0) if quick else (5.0, 10.0)
    return [
        Scenario("clean", CLEAN, window),
        Scenario("lossy_1mbit", Impairment(rate_kbit=1000, loss_pct=5), window),
        Scenario("lossy_500kbit", Impairment(rate_kbit=500, loss_pct=3), window),
        Scenario("burst", CLEAN, pre + 3.0 + after, burst=Impairment(loss_pct=40), burst_at_s=pre, burst_s=3.0),
        Scenario("udp_blocked", Impairment(udp_blocked=True), window, connect_timeout_s=10.0, turn=""),
        Scenario("udp_blocked_tls", Impairment(udp_blocked=True), window, connect_timeout_s=10.0, turn="turns:"),
    ]


def _check(value: Any, op: str, limit: float) -> dict[str, Any]:
    ok = value is not None and (value <= limit if op == "<=" else value >= limit)
    return {"target": f"{op} {limit:g}", "value": value, "pass": bool(ok)}


def targets(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The issue's targets, pass/fail per figure (freezes scaled from 2 s per 30 s to the window)."""
    out: dict[str, dict[str, Any]] = {}
    lossy, clean = results.get("lossy_1mbit"), results.get("clean")
    if lossy:
        span = lossy.get("span_s") or TARGET_WINDOW_S
        out["lossy_1mbit"] = {
            "audio_concealment": _check(lossy.get("audio_concealment"), "<=", 0.01),
            "video_fps": _check(lossy.get("video_fps"), ">=", 15),
            "freeze_s": _check(lossy.get("freeze_s"), "<=", round(2.0 * span / TARGET_WINDOW_S, 2)),
            **_clean_viewer_checks(lossy, clean),
        }
    burst = results.get("burst")
    if burst:
        out["burst"] = {"recover_s": _check(burst.get("recover_s"), "<=", 1.0)}
    for name in ("udp_blocked", "udp_blocked_tls"):
        blocked = results.get(name)
        if blocked:
            out[name] = {"connect_s": _check(blocked.get("connect_s") if blocked.get("connected") else None, "<=", 5.0)}
    return out


def _clean_viewer_checks(scenario: dict[str, Any], clean: dict[str, Any] | None) -> dict[str, Any]:
    """The clean viewer's keyframes and freezes beyond what it saw during the clean scenario
    (keyframes per second scaled to the window; one keyframe of tolerance for the clip's 2 s GOP)."""
    now, ref = scenario.get("clean_viewer") or {}, (clean or {}).get("clean_viewer") or {}
    if not now.get("span_s") or not ref.get("span_s"):
        return {}
    extra_keyframes = round(now["keyframes"] - ref["keyframes"] * now["span_s"] / ref["span_s"], 1)
    return {"clean_viewer_extra_keyframes": _check(extra_keyframes, "<=", 1),
            "clean_viewer_extra_freezes": _check(now["freezes"] - ref["freezes"], "<=", 0)}


def _f(value: Any, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def table(results: dict[str, dict[str, Any]]) -> str:
    head = (f"{'scenario':<14} {'link':<22} {'conn':>5} {'join s':>6} {'audio conc':>10} {'fps':>6} "
            f"{'freeze s':>8} {'resolution':>10} {'rx kbps':>8} {'vid loss':>8} {'recover':>7} "
            f"{'offered pps':>11} {'clean kf':>8} {'clean frz':>9} {'teacher kf':>10}")
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        clean = r.get("clean_viewer") or {}
        lines.append(
            f"{name:<14} {r.get('link', ''):<22} {'yes' if r.get('connected') else 'NO':>5} "
            f"{_f(r.get('connect_s'), '{:.2f}'):>6} {_f(r.get('audio_concealment'), '{:.2%}'):>10} "
            f"{_f(r.get('video_fps'), '{:.1f}'):>6} {_f(r.get('freeze_s'), '{:.1f}'):>8} "
            f"{r.get('resolution', '-'):>10} {_f(r.get('rx_kbps'), '{:.0f}'):>8} "
            f"{_f(r.get('video_loss'), '{:.1%}'):>8} {_f(r.get('recover_s'), '{:.2f}'):>7} "
            f"{_f(r.get('shaper_offered_pps') if r.get('shaper_dropped') is not None else None, '{:.0f}'):>11} "
            f"{_f(clean.get('keyframes')):>8} {_f(clean.get('freeze_s'), '{:.1f}'):>9} "
            f"{_f(r.get('teacher_keyframes_sent')):>10}")
    return "\n".join(lines)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    """Every chosen scenario into ``results`` as it ends (so an interrupted run still reports)."""
    chosen = [s for s in scenarios(args.window, args.quick) if not args.scenarios or s.name in args.scenarios]
    with WeakLinkSession.start(viewer=args.viewer, clean_viewer=args.clean_viewer) as session:
        log(f"server {session.server.base}, namespace {session.link.name} ({session.link.ns_ip}), "
            f"logs in {session.data_dir}")
        for scenario in chosen:
            log(f"{scenario.name}: {scenario.impairment.describe()}, {scenario.window_s:g} s window")
            results[scenario.name] = session.run(scenario)
            log(f"{scenario.name}: {json.dumps(results[scenario.name], separators=(',', ':'))}")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="aiortc viewers, 8 s windows")
    parser.add_argument("--viewer", choices=("chromium", "aiortc"), help="the weak viewer (default chromium)")
    parser.add_argument("--clean-viewer", choices=("chromium", "aiortc"), help="the clean viewer (default aiortc)")
    parser.add_argument("--window", type=float, help="seconds per scenario (default 30, quick 8)")
    parser.add_argument("--scenarios", type=lambda s: [x for x in s.split(",") if x], help="comma separated")
    args = parser.parse_args(argv)
    args.viewer = args.viewer or ("aiortc" if args.quick else "chromium")
    args.clean_viewer = args.clean_viewer or "aiortc"
    args.window = args.window or (8.0 if args.quick else TARGET_WINDOW_S)
    missing = missing_requirements()
    if missing:
        print(json.dumps({"error": f"missing: {', '.join(missing)}"}))
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # cleanup runs on SIGTERM as on Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`&`)
    sweep_stale()
    load_before, started = os.getloadavg(), time.monotonic()
    error: str | None = None
    results: dict[str, dict[str, Any]] = {}
    try:
        run(args, results)
    except KeyboardInterrupt as exc:
        error = f"interrupted {exc}"
    except Exception as exc:  # noqa: BLE001 - reported in the JSON line
        error = f"{type(exc).__name__}: {exc}"
        log(error)
    print(table(results))
    checks = targets(results)
    for scenario, figures in checks.items():
        print(f"{scenario}: " + ", ".join(f"{k} {v['value']} ({v['target']}: {'pass' if v['pass'] else 'FAIL'})"
                                          for k, v in figures.items()))
    print(json.dumps({"viewer": args.viewer, "clean_viewer": args.clean_viewer, "window_s": args.window,
                      "load_before": [round(x, 2) for x in load_before],
                      "load_after": [round(x, 2) for x in os.getloadavg()], "cpu_count": os.cpu_count(),
                      "elapsed_s": round(time.monotonic() - started, 1), "scenarios": results, "targets": checks,
                      "error": error}, separators=(",", ":")))
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
