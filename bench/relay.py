"""Relay benchmark: CPU per subscriber, loss, added latency and first-frame time of the SFU,
against a baseline that relays with aiortc's MediaRelay (decode once, re-encode per subscriber).

    python bench/relay.py --quick          # N = 1, 10 (baseline 1, 2), 4 s windows, < 1 min
    python bench/relay.py                  # N = 1, 10, 50, 100 (baseline 1, 2, 4), 10 s windows
    python bench/relay.py --py-spy         # also sample the SFU with py-spy at the largest N
    python bench/relay.py --workers 1,2 --counts 50,100,150,200,250,300
                                           # capacity: for 1 and 2 media workers, the largest N at
                                           # which p99 <= 20 ms and loss < 0.1 %, and their ratio

One publisher process WHIP-publishes pre-encoded 720p VP8 (~1.5 Mbit/s) + Opus;
subscriber processes (50 peers each) WHEP-watch without decoding. The server
under test runs as its own process; its CPU (user+system, with children) is
read with psutil over the measurement window. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import atexit
import bisect
import json
import math
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import psutil

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for _p in (BENCH, ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import contextlib  # noqa: E402

import relay_peers  # noqa: E402
from relay_media import load_media  # noqa: E402

PEERS_PER_WORKER = 50  # fewer, busier processes: more datagrams per epoll wake-up
TARGETS = {"ratio": 60, "latency_p99_ms": 20, "relay_loss": 0.001, "first_frame_s": 1.0,
           "mediarelay_core_per_sub": 0.35, "c_sfu_core_per_sub": 0.007}

_cleanup: list[Any] = []


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


class Worker:
    """A load-generator process (publisher or subscriber pool) driven over a Pipe."""

    def __init__(self, ctx: Any, target: Any, *args: Any, name: str) -> None:
        self.name = name
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(child, *args), daemon=True, name=name)
        self.proc.start()
        child.close()
        self.closed = False
        _cleanup.append(self)

    def send(self, command: str, **args: Any) -> None:
        self.conn.send((command, args))

    def result(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{self.name}: no reply within {timeout:.0f}s")
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"{self.name}: {value}")
        return value

    def call(self, command: str, timeout: float = 30, **args: Any) -> Any:
        self.send(command, **args)
        return self.result(timeout)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.proc.is_alive():
                self.send("exit")
                self.conn.poll(8)
        except (OSError, BrokenPipeError, EOFError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1)


def call_all(workers: list[Worker], command: str, timeout: float, args: list[dict] | None = None) -> list[Any]:
    for i, w in enumerate(workers):
        w.send(command, **(args[i] if args else {}))
    deadline = time.monotonic() + timeout
    return [w.result(max(0.1, deadline - time.monotonic())) for w in workers]


class ServerProcess:
    def __init__(self, kind: str, port: int, data_dir: str, env: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(data_dir, f"{kind}-server.log")
        if kind == "sfu":
            cmd = [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--data-dir", data_dir, "--log-level", "warning"]
        else:
            cmd = [sys.executable, os.path.join(BENCH, "relay_baseline.py"), "--host", "127.0.0.1",
                   "--port", str(port)]
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.popen = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True,
                                      env={**os.environ, **(env or {})})
        self.ps = psutil.Process(self.popen.pid)
        self.closed = False
        _cleanup.append(self)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited rc={self.popen.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/api/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.kind} server not healthy within {timeout}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in self.ps.children(recursive=True):
            try:
                ct = child.cpu_times()
                total += ct.user + ct.system
            except psutil.Error:
                pass
        return total

    def process_cpu_seconds(self) -> dict[int, float]:
        """pid -> CPU seconds, for the server process and each of its children (its media workers)."""
        out = {}
        for proc in [self.ps, *self.ps.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(6)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(3)
        self._log.close()


def cleanup() -> None:
    while _cleanup:
        item = _cleanup.pop()
        try:
            item.close()
        except Exception as exc:  # noqa: BLE001
            log(f"cleanup {getattr(item, 'name', item)}: {exc}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method: str, url: str, token: str, body: dict) -> dict:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def viewer_tokens(data_dir: str, count: int) -> list[str]:
    """One classroom token per subscriber: each WHEP viewer is its own principal, as in a real lesson
    (the server caps the sessions one principal may hold)."""
    from pathlib import Path

    from classroom.roles import Role
    from server.edge.secret import load_or_create_secret
    from server.edge.tokens import TokenCodec

    codec = TokenCodec(load_or_create_secret(Path(data_dir)))
    return [codec.issue(f"c{index}", Role.CLASSROOM, "east", ttl_s=6 * 3600) for index in range(count)]


def mint_token(data_dir: str, role: str, subject: str) -> str:
    out = subprocess.run([sys.executable, "-m", "server", "token", "--data-dir", data_dir, "--role", role,
                          "--subject", subject, "--school", "east"], cwd=ROOT, capture_output=True, text=True,
                         timeout=30, check=True)
    return out.stdout.strip().splitlines()[-1].strip()


# --------------------------------------------------------------------------- statistics


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def latencies(pub_frames: list[tuple[int, float]], subs: list[dict]) -> tuple[list[float], int, int, dict]:
    """Per-frame (subscriber first arrival - publisher first send), aligned by a constant RTP offset."""
    pub_frames = sorted(pub_frames, key=lambda f: f[1])
    pub_times = [t for _, t in pub_frames]
    by_ts = {ts: t for ts, t in pub_frames}
    out: list[float] = []
    split: dict[str, list[float]] = {"key": [], "after_key": [], "delta": []}
    frames = matched = 0
    for sub in subs:
        sub_frames = sub["frames"]
        frames += len(sub_frames)
        if not sub_frames:
            continue
        votes: Counter[int] = Counter()
        step = max(1, len(sub_frames) // 60)
        for ts_s, arrival, _ in sub_frames[::step]:
            lo = bisect.bisect_left(pub_times, arrival - 1.0)
            hi = bisect.bisect_right(pub_times, arrival + 0.002)
            for ts_p, _ in pub_frames[lo:hi]:
                votes[(ts_s - ts_p) & 0xFFFFFFFF] += 1
        if not votes:
            continue
        offset, _ = votes.most_common(1)[0]
        since_key = 99
        for ts_s, arrival, key in sub_frames:
            since_key = 0 if key else since_key + 1
            sent = by_ts.get((ts_s - offset) & 0xFFFFFFFF)
            if sent is not None:
                out.append(arrival - sent)
                split["key" if since_key == 0 else "after_key" if since_key <= 5 else "delta"].append(arrival - sent)
                matched += 1
    return out, frames, matched, split


def summarize(n: int, window: float, cpu: float, wall: float, subs: list[dict], pub0: dict, pub1: dict,
              pub_frames: list[tuple[int, float]], joined: dict, loadgen_cpu: float, system_cpu: float) -> dict:
    expected = sum(s["expected"] for s in subs)
    lost = sum(s["lost"] for s in subs)
    kinds: dict[str, dict[str, int]] = {}
    for s in subs:
        for kind, k in s["kinds"].items():
            agg = kinds.setdefault(kind, {"expected": 0, "lost": 0, "packets": 0})
            for key in agg:
                agg[key] += k[key]
    lat, frames, matched, split = latencies(pub_frames, subs)
    firsts = [s["first_video_s"] for s in subs if s["first_video_s"] is not None]
    no_video = sum(1 for s in subs if s["first_video_s"] is None)
    pub_wall = max(1e-6, pub1["time"] - pub0["time"])
    cpu_per_s = cpu / wall
    if frames and matched / frames < 0.9:  # timestamps did not line up (re-encoding baseline): not trustworthy
        lat, split = [], {k: [] for k in split}
    return {
        "n": n,
        "joined": joined,
        "join_pli": joined.get("pub_keyframe_requests"),
        "with_video": len(firsts),
        "no_video": no_video,
        "server_cpu_per_s": round(cpu_per_s, 4),
        "cpu_per_subscriber": round(cpu_per_s / n, 5),
        "loadgen_cpu_per_s": round(loadgen_cpu, 3),
        "system_cpu_percent": round(system_cpu, 1),
        "relay_loss": (lost / expected) if expected else None,
        "lost": lost,
        "expected": expected,
        "loss_by_kind": {k: (v["lost"] / v["expected"] if v["expected"] else None) for k, v in kinds.items()},
        "rx_kbps_per_sub": round(sum(s["bytes"] for s in subs) * 8 / window / max(1, len(subs)) / 1000, 1),
        "rx_video_pps_per_sub": round(kinds.get("video", {}).get("packets", 0) / window / max(1, len(subs)), 1),
        "pub_video_kbps": round((pub1["video_bytes"] - pub0["video_bytes"]) * 8 / pub_wall / 1000, 1),
        "pub_keyframe_requests": pub1["keyframe_requests"] - pub0["keyframe_requests"],
        "pub_keyframes_sent": pub1["keyframes_sent"] - pub0["keyframes_sent"],
        "latency_p50_ms": _ms(percentile(lat, 0.5)),
        "latency_p99_ms": _ms(percentile(lat, 0.99)),
        "latency_max_ms": _ms(max(lat) if lat else None),
        "latency_frames": matched,
        "latency_matched_fraction": round(matched / frames, 3) if frames else None,
        "latency_p99_by_frame_ms": {k: _ms(percentile(v, 0.99)) for k, v in split.items()},
        "latency_p50_by_frame_ms": {k: _ms(percentile(v, 0.5)) for k, v in split.items()},
        "latency_unmatched": frames - matched,
        "first_frame_p50_s": _r(percentile(firsts, 0.5)),
        "first_frame_max_s": _r(max(firsts) if firsts else None),
        "first_packet_p50_s": _r(percentile([s["first_packet_s"] for s in subs if s["first_packet_s"]], 0.5)),
        "answer_p50_s": _r(percentile([s["answered_s"] for s in subs if s["answered_s"]], 0.5)),
        "answer_max_s": _r(max([s["answered_s"] for s in subs if s["answered_s"]], default=None)),
        "connected_p50_s": _r(percentile([s["connected_s"] for s in subs if s["connected_s"]], 0.5)),
        "connected_max_s": _r(max([s["connected_s"] for s in subs if s["connected_s"]], default=None)),
        "duplicates": sum(s["duplicates"] for s in subs),
    }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 2)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


# --------------------------------------------------------------------------- one server


def run_server(kind: str, counts: list[int], pool: list[Worker], ctx: Any, args: argparse.Namespace,
               deadline: float, data_dir: str) -> tuple[list[dict], dict]:
    port = free_port()
    info: dict[str, Any] = {"kind": kind}
    teacher: str | None = None
    viewer: list[str] | None = None
    if kind == "sfu":
        teacher = mint_token(data_dir, "teacher", "alice")
    server = ServerProcess(kind, port, data_dir, args.server_env if kind == "sfu" else None)
    publisher = Worker(ctx, relay_peers.publisher_main, name=f"{kind}-publisher")
    results: list[dict] = []
    try:
        if kind == "sfu":
            viewer = viewer_tokens(data_dir, max(counts))
        server.wait_ready()
        lesson = "bench"
        if teacher is not None:
            # recording off: this bench measures the relay; bench/recording.py measures the recorder
            body = {"title": "bench", "recording": False}
            lesson = http_json("POST", server.base + "/api/lessons", teacher, body)["id"]
        started = publisher.call("start", timeout=30, url=f"{server.base}/whip/{lesson}", token=teacher,
                                 pace=args.pace)
        log(f"{kind}: server pid {server.popen.pid} on :{port}, publisher live "
            f"(clip {started['clip_bps'] / 1e6:.2f} Mbit/s)")
        time.sleep(1.0)
        whep = f"{server.base}/whep/{lesson}"
        for n in counts:
            if time.monotonic() > deadline:
                log(f"{kind}: time budget exhausted, skipping N={n}")
                break
            result = run_n(kind, n, pool, publisher, server, whep, viewer, args, deadline)
            results.append(result)
            log(f"{kind}: N={n} cpu/s={result['server_cpu_per_s']:.3f} per-sub={result['cpu_per_subscriber']:.4f} "
                f"loss={_pct(result['relay_loss'])} lat p50/p99={result['latency_p50_ms']}/"
                f"{result['latency_p99_ms']} ms first p50/max={result['first_frame_p50_s']}/"
                f"{result['first_frame_max_s']} s")
            if server.popen.poll() is not None:
                raise RuntimeError(f"{kind} server died:\n{server.log_tail()}")
    except BaseException:
        log(f"{kind} server log tail:\n{server.log_tail(20)}")
        raise
    finally:
        info["server_log_tail"] = server.log_tail(15)
        publisher.close()
        server.close()
    return results, info


def _short_of_video(rows: list[dict]) -> str | None:
    """A run whose subscribers did not all receive video measured fewer than it claims: say so."""
    short = [f"N={r['n']}: {r['with_video']}" for r in rows if r.get("with_video", r["n"]) < r["n"]]
    return f"subscribers without video: {', '.join(short)}" if short else None


def run_n(kind: str, n: int, pool: list[Worker], publisher: Worker, server: ServerProcess, whep: str,
          tokens: list[str] | None, args: argparse.Namespace, deadline: float) -> dict:
    workers = pool[:max(1, min(len(pool), math.ceil(n / args.peers_per_worker)))]
    share = [n // len(workers) + (1 if i < n % len(workers) else 0) for i in range(len(workers))]
    workers = [w for w, c in zip(workers, share, strict=True) if c]
    share = [c for c in share if c]
    firsts = [sum(share[:i]) for i in range(len(share))]
    t0 = time.monotonic()
    pub_join = publisher.call("stats", timeout=10)
    try:
        replies = call_all(workers, "start", timeout=30 + n * 0.5,
                           args=[{"url": whep, "token": tokens[f:f + c] if tokens else None, "count": c,
                                  "first_index": f}
                                 for c, f in zip(share, firsts, strict=True)])
        joined = {"ok": sum(r["started"] for r in replies), "errors": [e for r in replies for e in r["errors"]][:3]}
        join_s = time.monotonic() - t0
        wait_until = time.monotonic() + min(args.video_wait + 0.1 * n, max(3.0, deadline - time.monotonic() - 10))
        while True:
            status = call_all(workers, "status", timeout=10)
            with_video = sum(s["video"] for s in status)
            if with_video >= joined["ok"] or time.monotonic() > wait_until:
                break
            time.sleep(0.2)
        joined.update(join_s=round(join_s, 2), video_after_s=round(time.monotonic() - t0, 2),
                      with_video_before_window=with_video)
        if with_video < n:
            log(f"{kind}: N={n}: only {with_video}/{n} receiving video after {time.monotonic() - t0:.1f}s "
                f"{joined['errors']}")
        pub_ready = publisher.call("stats", timeout=10)
        joined["pub_keyframe_requests"] = pub_ready["keyframe_requests"] - pub_join["keyframe_requests"]
        joined["pub_keyframes_sent"] = pub_ready["keyframes_sent"] - pub_join["keyframes_sent"]
        time.sleep(args.settle)

        procs = [psutil.Process(w.proc.pid) for w in [*workers, publisher]]
        lg0 = sum(_cpu(p) for p in procs)
        pub_cpu0 = _cpu(procs[-1])
        psutil.cpu_percent(None)
        pub0 = publisher.call("stats", timeout=10)
        cpu0, each0, wall0 = server.cpu_seconds(), server.process_cpu_seconds(), time.monotonic()
        marks = call_all(workers, "mark", timeout=10)
        time.sleep(args.window)
        ends = call_all(workers, "end", timeout=10)
        cpu1, each1, wall1 = server.cpu_seconds(), server.process_cpu_seconds(), time.monotonic()
        pub1 = publisher.call("stats", timeout=10)
        system_cpu = psutil.cpu_percent(None)
        lg1 = sum(_cpu(p) for p in procs)
        pub_cpu1 = _cpu(procs[-1])
        if args.py_spy and kind == "sfu" and n == max(args.counts):
            profile_server(server, args)
        time.sleep(0.4)  # let late retransmissions fill gaps before loss is counted
        parts = call_all(workers, "collect", timeout=30)
        loop_lags = [part[0]["loop_lag"] for part in parts]
        subs = [s for part in parts for s in part[1:]]
        pub_frames = publisher.call("frames", timeout=10, start=min(marks) - 2, end=max(ends) + 1)
        result = summarize(n, args.window, cpu1 - cpu0, wall1 - wall0, subs, pub0, pub1, pub_frames, joined,
                           (lg1 - lg0) / (wall1 - wall0), system_cpu)
        p99s = [lag["p99"] for lag in loop_lags if lag["p99"] is not None]
        maxs = [lag["max"] for lag in loop_lags if lag["max"] is not None]
        each = {pid: (each1[pid] - each0.get(pid, 0.0)) / (wall1 - wall0) for pid in each1}
        result["server_main_cpu_per_s"] = round(each.get(server.popen.pid, 0.0), 4)
        result["server_busiest_process_cpu_per_s"] = round(max(each.values(), default=0.0), 4)
        result["loadgen_publisher_cpu_per_s"] = round((pub_cpu1 - pub_cpu0) / (wall1 - wall0), 3)
        result["loadgen_subscribers_cpu_per_s"] = round(result["loadgen_cpu_per_s"]
                                                        - result["loadgen_publisher_cpu_per_s"], 3)
        result["client_loop_lag_p99_ms"] = _ms(max(p99s)) if p99s else None
        result["client_loop_lag_max_ms"] = _ms(max(maxs)) if maxs else None
        return result
    finally:
        stopped = call_all(workers, "stop", timeout=30 + n * 0.3)
        left = sum(r.get("tasks_left", 0) for r in stopped)
        if left:
            log(f"{kind}: N={n}: {left} asyncio tasks still running in the subscriber processes after stop")
        time.sleep(1.0)


def _cpu(p: psutil.Process) -> float:
    try:
        t = p.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def profile_server(server: ServerProcess, args: argparse.Namespace) -> None:
    """py-spy dump + a few seconds of sampling of the SFU at the largest N (after the window)."""
    spy = "py-spy"
    out_dir = args.data_dir_root
    try:
        dump = subprocess.run([spy, "dump", "--pid", str(server.popen.pid)], capture_output=True, text=True,
                              timeout=20)
        path = os.path.join(out_dir, "py-spy-dump.txt")
        with open(path, "w") as f:
            f.write(dump.stdout + dump.stderr)
        raw = os.path.join(out_dir, "py-spy-raw.txt")
        subprocess.run([spy, "record", "--pid", str(server.popen.pid), "--duration", str(args.py_spy_seconds),
                        "--rate", "100", "--nonblocking", "--format", "raw", "-o", raw],
                       capture_output=True, text=True, timeout=args.py_spy_seconds + 20)
        args.py_spy_report = summarize_profile(raw)
        args.py_spy_report["dump_file"] = path
        args.py_spy_report["raw_file"] = raw
    except (OSError, subprocess.SubprocessError) as exc:
        args.py_spy_report = {"error": str(exc)}


def summarize_profile(raw_path: str, top: int = 15) -> dict:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(raw_path) as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            try:
                count = int(count_text)
            except ValueError:
                continue
            frames = stack.split(";")
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    return {
        "samples": total,
        "self_top": [(f, round(c / total, 3)) for f, c in own.most_common(top)] if total else [],
        "inclusive_top": [(f, round(c / total, 3)) for f, c in inclusive.most_common(top)] if total else [],
    }


# --------------------------------------------------------------------------- report


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.3f}%"


def _f(v: Any, fmt: str = "{}") -> str:
    return "-" if v is None else fmt.format(v)


def table(title: str, rows: list[dict]) -> str:
    head = (f"{'N':>4} {'video':>6} {'cpu/s':>7} {'cpu/sub':>8} {'loadgen':>7} {'sys%':>5} {'loss':>9} "
            f"{'lat p50':>8} {'lat p99':>8} {'lat max':>8} {'ff p50':>7} {'ff max':>7} {'rx kbps':>8} "
            f"{'pub kbps':>8} {'PLI':>4}")
    lines = [title, head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['n']:>4} {r['with_video']:>6} {r['server_cpu_per_s']:>7.3f} {r['cpu_per_subscriber']:>8.4f} "
            f"{r['loadgen_cpu_per_s']:>7.2f} {r['system_cpu_percent']:>5.0f} {_pct(r['relay_loss']):>9} "
            f"{_f(r['latency_p50_ms'], '{:.1f}'):>8} {_f(r['latency_p99_ms'], '{:.1f}'):>8} "
            f"{_f(r['latency_max_ms'], '{:.1f}'):>8} {_f(r['first_frame_p50_s'], '{:.2f}'):>7} "
            f"{_f(r['first_frame_max_s'], '{:.2f}'):>7} {r['rx_kbps_per_sub']:>8.0f} {r['pub_video_kbps']:>8.0f} "
            f"{r['pub_keyframe_requests']:>4}")
        by = r.get("latency_p99_by_frame_ms", {})
        lines.append(f"       p99 latency by frame: keyframe {by.get('key')} ms, 1-5 frames after a keyframe "
                     f"{by.get('after_key')} ms, other frames {by.get('delta')} ms; loadgen loop lag p99/max "
                     f"{r.get('client_loop_lag_p99_ms')}/{r.get('client_loop_lag_max_ms')} ms, cores publisher/"
                     f"subscribers {r.get('loadgen_publisher_cpu_per_s')}/{r.get('loadgen_subscribers_cpu_per_s')}; "
                     f"join: answer max {r.get('answer_max_s')} s, connected max {r.get('connected_max_s')} s, "
                     f"PLIs {r.get('join_pli')}; server main process {r.get('server_main_cpu_per_s')} cores "
                     f"(the rest: media workers), busiest server process {r.get('server_busiest_process_cpu_per_s')}")
    return "\n".join(lines)


def meets_targets(row: dict) -> bool:
    """The capacity criterion: every subscriber got video, p99 <= 20 ms, loss < 0.1 %."""
    p99, loss = row.get("latency_p99_ms"), row.get("relay_loss")
    return (p99 is not None and p99 <= TARGETS["latency_p99_ms"] and loss is not None
            and loss < TARGETS["relay_loss"] and row.get("with_video") == row["n"])


def capacity(args: argparse.Namespace, ctx: Any, data_dir: str, started: float) -> dict:
    """For each media worker count, the SFU rows over ``args.counts`` and the largest N that meets the targets.

    The worker counts are interleaved at each N (a fresh server per run) so that both see the same
    machine load as nearly as possible: on a shared machine the load moves by the minute.
    """
    rows: dict[int, list[dict]] = {w: [] for w in args.workers}
    pool = [Worker(ctx, relay_peers.subscriber_main, i, name=f"subs-{i}")
            for i in range(max(1, math.ceil(max(args.counts) / args.peers_per_worker)))]
    for n, workers in [(n, w) for n in args.counts for w in args.workers]:
        args.server_env = {"CLASSROOM_MEDIA_WORKERS": str(workers)}
        run_dir = os.path.join(data_dir, f"n{n}-workers-{workers}")
        os.makedirs(run_dir)
        load = os.getloadavg()[0]
        done, info = run_server("sfu", [n], pool, ctx, args, started + args.budget - 12, run_dir)
        for row in done:
            row["load_before"] = round(load, 2)
        rows[workers].extend(done)
        if "pipe full" in (info.get("server_log_tail") or ""):
            log(f"N={n} workers={workers}: server log tail:\n{info.get('server_log_tail')}")
    for workers, done in rows.items():
        print(table(f"SFU with CLASSROOM_MEDIA_WORKERS={workers} (load average before each run: "
                    f"{[r['load_before'] for r in done]})", done))
        print()
    return {str(w): capacity_summary(done) for w, done in rows.items()}


def capacity_summary(rows: list[dict]) -> dict:
    passing = [r for r in rows if meets_targets(r)]
    best = max(passing, key=lambda r: r["n"]) if passing else {}
    keys = ("n", "with_video", "latency_p99_ms", "relay_loss", "server_cpu_per_s", "server_main_cpu_per_s",
            "server_busiest_process_cpu_per_s", "loadgen_cpu_per_s", "system_cpu_percent", "load_before")
    contiguous = None
    for row in sorted(rows, key=lambda r: r["n"]):
        if not meets_targets(row):
            break
        contiguous = row["n"]
    return {"max_n": best.get("n"), "max_n_contiguous": contiguous, "latency_p99_ms": best.get("latency_p99_ms"),
            "relay_loss": best.get("relay_loss"), "server_cpu_per_s": best.get("server_cpu_per_s"),
            "system_cpu_percent": best.get("system_cpu_percent"),
            "server_main_cpu_per_s": best.get("server_main_cpu_per_s"),
            "projected_n_busiest_at_80pct_core": project_busiest(rows),
            "rows": [{k: r.get(k) for k in keys} for r in rows]}


def project_busiest(rows: list[dict], core_share: float = 0.8) -> int | None:
    """N at which the busiest server process would use ``core_share`` of a core (a straight line through
    the rows): the capacity if every server process had a core of its own and the load generator ran
    elsewhere. A projection, printed as one: on this machine the load generator shares the cores."""
    points = [(r["n"], r["server_busiest_process_cpu_per_s"]) for r in rows
              if r.get("server_busiest_process_cpu_per_s") is not None]
    if len(points) < 2:
        return None
    mx, my = statistics.fmean(p[0] for p in points), statistics.fmean(p[1] for p in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    a = sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0
    return int((core_share - (my - a * mx)) / a) if a > 0 else None


def capacity_main(args: argparse.Namespace, ctx: Any, started: float) -> int:
    error: str | None = None
    result: dict[str, Any] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as data_dir:
        args.data_dir_root = tempfile.mkdtemp(prefix="relay-bench-out-")
        try:
            result = capacity(args, ctx, data_dir, started)
        except KeyboardInterrupt as exc:
            error = f"interrupted: {exc}"
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
            log(error)
        finally:
            cleanup()
    counts = [result.get(str(w), {}).get("max_n") for w in args.workers]
    ratio = round(counts[-1] / counts[0], 2) if len(counts) >= 2 and counts[0] and counts[-1] else None
    firsts = [result.get(str(w), {}).get("max_n_contiguous") for w in args.workers]
    ratio_contiguous = round(firsts[-1] / firsts[0], 2) if len(firsts) >= 2 and firsts[0] and firsts[-1] else None
    for w, n in zip(args.workers, counts, strict=True):
        r = result.get(str(w), {})
        print(f"workers={w}: largest N with p99 <= {TARGETS['latency_p99_ms']} ms and loss < "
              f"{TARGETS['relay_loss'] * 100:.1f} %: {n} (p99 {r.get('latency_p99_ms')} ms, loss "
              f"{_pct(r.get('relay_loss'))}, server {r.get('server_cpu_per_s')} cores, machine "
              f"{r.get('system_cpu_percent')} %); projection: busiest server process at 80 % of a core "
              f"at N={r.get('projected_n_busiest_at_80pct_core')}")
    projected = [result.get(str(w), {}).get("projected_n_busiest_at_80pct_core") for w in args.workers]
    projected_ratio = (round(projected[-1] / projected[0], 2)
                       if len(projected) >= 2 and projected[0] and projected[-1] else None)
    print(f"projected ratio (a core per server process, load generator elsewhere): {projected_ratio}")
    print(f"ratio of the largest N below the first failing N: {ratio_contiguous} ({firsts})")
    print(f"ratio {args.workers[-1]} vs {args.workers[0]} workers: {ratio} (target >= 1.8); "
          f"load average before/after: {load_before[0]:.2f}/{os.getloadavg()[0]:.2f}")
    print(json.dumps({"workers": result, "ratio": ratio, "ratio_contiguous": ratio_contiguous,
                      "projected_ratio": projected_ratio, "target_ratio": 1.8,
                      "counts": args.counts,
                      "window_s": args.window, "load_before": round(load_before[0], 2),
                      "load_after": round(os.getloadavg()[0], 2), "elapsed_s": round(time.monotonic() - started, 1),
                      "error": error}, separators=(",", ":")))
    return 1 if error else 0


def slope(rows: list[dict]) -> float | None:
    if len(rows) < 2:
        return None
    xs = [r["n"] for r in rows]
    ys = [r["server_cpu_per_s"] for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return None if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N=1,10 / baseline 1,2, 4 s windows")
    parser.add_argument("--pace", type=float, default=2.5,
                        help="publisher pacing: video leaves at PACE x its bitrate, as browsers' pacers do "
                             "(libwebrtc: 2.5); 0 sends each frame as one burst like aiortc")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], help="SFU subscriber counts")
    parser.add_argument("--baseline-counts", type=lambda s: [int(x) for x in s.split(",") if x],
                        help="MediaRelay baseline counts ('' to skip)")
    parser.add_argument("--window", type=float, help="measurement window, seconds")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after all receive video")
    parser.add_argument("--video-wait", type=float, default=8.0, help="max wait for first video (+0.1 s/peer)")
    parser.add_argument("--budget", type=float, help="overall time budget, seconds")
    parser.add_argument("--peers-per-worker", type=int, default=PEERS_PER_WORKER,
                        help="subscriber peers per load-generator process")
    parser.add_argument("--slow-rx", action="store_true",
                        help="subscribers receive through aiortc's full per-packet path (for comparison)")
    parser.add_argument("--py-spy", action="store_true", help="py-spy the SFU at the largest N")
    parser.add_argument("--py-spy-seconds", type=int, default=5)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")],
                        help="capacity mode: CLASSROOM_MEDIA_WORKERS values to compare (e.g. 1,2); no baseline")
    args = parser.parse_args(argv)
    args.server_env = None
    if args.counts is None:
        args.counts = [1, 10] if args.quick else [1, 10, 50, 100]
    if args.baseline_counts is None:
        args.baseline_counts = [1, 2] if args.quick else [1, 2, 4]
    if args.window is None:
        args.window = 4.0 if args.quick else 10.0
    if args.budget is None:
        args.budget = 55.0 if args.quick else 360.0
    if args.quick:
        args.settle = min(args.settle, 0.5)
        args.video_wait = min(args.video_wait, 5.0)
    args.py_spy_report = None

    started = time.monotonic()
    deadline = started + args.budget - 12  # keep time for teardown and reporting

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(cleanup)

    if args.slow_rx:
        os.environ["RELAY_BENCH_SLOW_RX"] = "1"  # read by the spawned subscriber processes
    from media import fanout  # the server process imports the same code with the same environment

    fanout_path = fanout.implementation().name
    log(f"SFU fan-out: {fanout_path} ({fanout.ENV}={os.environ.get(fanout.ENV, '')!r})")
    media = load_media()  # encodes once (~3 s) and caches in the temp dir
    log(f"media: {len(media['video'])} VP8 frames at {media['video_bps'] / 1e6:.2f} Mbit/s, "
        f"{len(media['audio'])} Opus packets")
    ctx = mp.get_context("spawn")
    if args.workers:
        return capacity_main(args, ctx, started)
    workers_needed = max(1, math.ceil(max([*args.counts, *args.baseline_counts]) / args.peers_per_worker))
    sfu_rows: list[dict] = []
    base_rows: list[dict] = []
    infos: dict[str, Any] = {}
    error: str | None = None
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as data_dir:
        args.data_dir_root = tempfile.mkdtemp(prefix="relay-bench-out-")
        try:
            pool = [Worker(ctx, relay_peers.subscriber_main, i, name=f"subs-{i}") for i in range(workers_needed)]
            sfu_budget = deadline if not args.baseline_counts else started + (args.budget - 12) * (
                0.62 if args.quick else 0.78)
            sfu_rows, infos["sfu"] = run_server("sfu", args.counts, pool, ctx, args, sfu_budget,
                                                os.path.join(data_dir))
            if args.baseline_counts:
                base_dir = os.path.join(data_dir, "baseline")
                os.makedirs(base_dir)
                base_rows, infos["baseline"] = run_server("baseline", args.baseline_counts, pool, ctx, args,
                                                          deadline, base_dir)
        except KeyboardInterrupt as exc:
            error = f"interrupted: {exc}"
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
            log(error)
        finally:
            cleanup()

    print(table("SFU (python -m server serve): server CPU in cores; latency ms; first frame s", sfu_rows))
    print()
    print(table("Baseline (aiortc MediaRelay, re-encode per subscriber)", base_rows))
    print()
    if args.py_spy_report:
        print("py-spy of the SFU at the largest N (share of samples):")
        for name in ("self_top", "inclusive_top"):
            print(f"  {name}:")
            for frame, share in args.py_spy_report.get(name, []):
                print(f"    {share * 100:5.1f}%  {frame}")
        if "error" in args.py_spy_report:
            print(f"  error: {args.py_spy_report['error']}")
        print()

    top = sfu_rows[-1] if sfu_rows else {}
    # A baseline row is CPU-starved when the 2-core machine is saturated or the re-encoded video
    # no longer reaches the subscribers at the publisher's rate; its CPU figure is then a floor.
    unsaturated = [r for r in base_rows if r["system_cpu_percent"] < 97
                   and r["rx_kbps_per_sub"] >= 0.85 * r["pub_video_kbps"]]
    base_top = unsaturated[-1] if unsaturated else (base_rows[-1] if base_rows else {})
    cps = top.get("cpu_per_subscriber")
    base_slope = slope(unsaturated)
    bcps: float | None
    if base_slope is not None and base_slope > 0:
        bcps, basis = round(base_slope, 5), f"slope over unsaturated N={[r['n'] for r in unsaturated]}"
    else:
        bcps, basis = base_top.get("cpu_per_subscriber"), f"per-subscriber at N={base_top.get('n')}"
    print(f"baseline CPU per subscriber: {bcps} ({basis}); SFU at N={top.get('n')}: {cps} "
          f"-> ratio {round(bcps / cps, 1) if cps and bcps else None}")
    result = {
        "subscribers": top.get("n"),
        "cpu_per_subscriber": cps,
        "baseline_subscribers": base_top.get("n"),
        "baseline_cpu_per_subscriber": bcps,
        "baseline_basis": basis if base_rows else None,
        "baseline_saturated_n": [r["n"] for r in base_rows if r not in unsaturated],
        "baseline_cpu_per_subscriber_at_largest_n": base_rows[-1]["cpu_per_subscriber"] if base_rows else None,
        "baseline_cpu_slope_per_subscriber_all_n": _r(slope(base_rows)),
        "ratio": round(bcps / cps, 1) if cps and bcps else None,
        "relay_loss": top.get("relay_loss"),
        "latency_p50_ms": top.get("latency_p50_ms"),
        "latency_p99_ms": top.get("latency_p99_ms"),
        "first_frame_s": top.get("first_frame_max_s"),
        "first_frame_p50_s": top.get("first_frame_p50_s"),
        "with_video": top.get("with_video"),
        "server_cpu_per_s": {r["n"]: r["server_cpu_per_s"] for r in sfu_rows},
        "sfu_cpu_slope_per_subscriber": _r(slope(sfu_rows)),
        "baseline_cpu_per_s": {r["n"]: r["server_cpu_per_s"] for r in base_rows},
        "baseline_latency_p50_ms": base_top.get("latency_p50_ms"),
        "baseline_latency_p99_ms": base_top.get("latency_p99_ms"),
        "rx_kbps_per_sub": top.get("rx_kbps_per_sub"),
        "pub_video_kbps": top.get("pub_video_kbps"),
        "clip_video_kbps": round(media["video_bps"] / 1000, 1),
        "loadgen_cpu_per_s": top.get("loadgen_cpu_per_s"),
        "system_cpu_percent": top.get("system_cpu_percent"),
        "window_s": args.window,
        "publisher_pacing": args.pace,
        "quick": args.quick,
        "fanout": fanout_path,
        "elapsed_s": round(time.monotonic() - started, 1),
        "targets": TARGETS,
        "sfu": sfu_rows and [{k: v for k, v in r.items() if k != "joined"} for r in sfu_rows],
        "baseline": base_rows and [{k: v for k, v in r.items() if k != "joined"} for r in base_rows],
        "error": error or _short_of_video(sfu_rows),
    }
    if error and infos:
        for kind, info in infos.items():
            if info.get("server_log_tail"):
                log(f"{kind} server log tail:\n{info['server_log_tail']}")
    print(json.dumps(result, separators=(",", ":")))
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
