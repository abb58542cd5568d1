"""A lesson under test for the weak-link harness: the server outside a weak link, a teacher that
WHIP-publishes ~2 Mbit/s of pre-encoded VP8 + Opus, a clean viewer beside the server, and one weak
viewer per scenario inside the link's namespace.

    with WeakLinkSession.start(viewer="aiortc") as session:
        result = session.run(Scenario("lossy", Impairment(rate_kbit=1000, loss_pct=5), window_s=8))

``run`` applies the scenario's impairment, starts a weak viewer behind it, waits for it to connect,
lets it settle, measures over the window (with an optional burst of other impairment inside it)
and returns the figures of the weak viewer, the clean viewer and the teacher over that window.
Everything started is stopped and the namespace deleted on close (also on Ctrl-C and at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for _p in (BENCH, ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import relay_peers  # noqa: E402
from coturn import Coturn, missing_coturn  # noqa: E402
from relay import Worker  # noqa: E402
from weak_link_figures import Samples, recovery_s, window_figures  # noqa: E402
from weak_link_net import CLEAN, Impairment, WeakLink  # noqa: E402

__all__ = ["Scenario", "Viewer", "WeakLinkSession"]

VIEWER = os.path.join(BENCH, "weak_link_viewer.py")
TEACHER_BITRATE = 2_000_000  # the VP8 encoder's target; the clip comes out at ~2.1 Mbit/s (+64 kbit/s Opus)
SETTLE_S = 2.0
RELAY_COUNTERS = ("forwarded_packets", "nacked_packets", "retransmitted_packets", "keyframe_requests_received",
                  "keyframe_requests_sent")  # after the weak viewer connects, before its window opens


@dataclass(frozen=True)
class Scenario:
    """``impairment`` from before the weak viewer joins to the end of the window; when ``burst`` is
    set, it replaces the impairment for ``burst_s`` seconds starting ``burst_at_s`` into the window."""

    name: str
    impairment: Impairment
    window_s: float
    burst: Impairment | None = None
    burst_at_s: float = 0.0
    burst_s: float = 0.0
    connect_timeout_s: float = 15.0
    turn: str | None = None
    """when set, the weak viewer asks the server for its ICE servers (GET /api/ice-servers: TURN with
    a fresh credential, when the session runs coturn) as the pages do, and keeps those whose URL
    starts with this ("" all of them, "turns:" TURN over TLS only)"""


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m server serve`` bound to one address, as its own process (group)."""

    def __init__(self, host: str, data_dir: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port(host)
        self.base = f"http://{host}:{self.port}"
        self.log_path = os.path.join(data_dir, "server.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        cmd = [sys.executable, "-m", "server", "serve", "--host", host, "--port", str(self.port),
               "--data-dir", data_dir, "--log-level", "warning"]
        self.popen = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True,
                                      env={**os.environ, **(env or {})})

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"server exited rc={self.popen.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(urllib.error.URLError, OSError), \
                    urllib.request.urlopen(self.base + "/api/health", timeout=2) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"server not healthy within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError), open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        return ""

    def close(self) -> None:
        _stop_group(self.popen, grace_s=6)
        self._log.close()


def _stop_group(popen: subprocess.Popen[Any], grace_s: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(grace_s)


class Viewer:
    """A weak_link_viewer.py process (inside ``link``'s namespace when given); its samples as they come."""

    def __init__(self, kind: str, origin: str, lesson: str, token: str, link: WeakLink | None,
                 log: IO[bytes], turn: str | None = None) -> None:
        argv = [sys.executable, VIEWER, "--kind", kind, "--origin", origin, "--url", f"{origin}/whep/{lesson}",
                "--token", token, *([] if turn is None else ["--ice-servers-from-server", "--only-ice", turn])]
        self.started = time.time()
        self.popen = subprocess.Popen(link.command(argv) if link else argv, cwd=ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=log, start_new_session=True, text=True)
        self.samples: Samples = []
        self.errors: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if message.get("type") == "sample":
                    self.samples.append(message)
                elif message.get("type") == "error":
                    self.errors.append(message.get("message", ""))

    def connected_at(self) -> float | None:
        return next((s["connected_at"] for s in list(self.samples) if s.get("connected_at")), None)

    def wait_connected(self, timeout_s: float) -> float | None:
        """Seconds from start to connected, or None when it did not connect within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.popen.poll() is None:
            at = self.connected_at()
            if at is not None:
                return round(at - self.started, 2)
            time.sleep(0.1)
        return None

    def close(self) -> None:
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()  # the viewer leaves (WHEP DELETE) and exits
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(15)
        _stop_group(self.popen, grace_s=3)
        self._reader.join(5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


def _counter_figures(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The link's and the teacher's counters across the window."""
    span = max(1e-6, after["t"] - before["t"])
    shaper = {key: after["shaper"][key] - before["shaper"][key] for key in after["shaper"]}
    teacher = {key: after["teacher"][key] - before["teacher"][key]
               for key in ("keyframe_requests", "keyframes_sent", "video_bytes")}
    return {
        "nft_dropped": {key: after["nft"][key] - before["nft"][key] for key in after["nft"]},
        "shaper_dropped": shaper["drops"],
        # what the server offered the shaped downstream: packets let through plus packets dropped
        "shaper_offered_pps": round((shaper["packets"] + shaper["drops"]) / span, 1),
        # the relay, all consumers of the lesson together (the clean viewer NACKs nothing on its clean path)
        "relay_pps": {key: round((after["relay"][key] - before["relay"][key]) / span, 1)
                      for key in ("forwarded_packets", "nacked_packets", "retransmitted_packets")},
        "relay_keyframe_requests": {key.removeprefix("keyframe_requests_"):
                                    int(after["relay"][key] - before["relay"][key])
                                    for key in ("keyframe_requests_received", "keyframe_requests_sent")},
        "teacher_keyframe_requests": teacher["keyframe_requests"],
        "teacher_keyframes_sent": teacher["keyframes_sent"],
        "teacher_video_kbps": round(teacher["video_bytes"] * 8 / span / 1000, 1),
    }


def _turn_env(turn: Coturn, data_dir: str) -> dict[str, str]:
    """The server's settings for ``turn``: its URLs, and the shared secret in a private file."""
    secret_file = Path(data_dir) / "turn-secret"
    secret_file.write_text(turn.secret + "\n")
    secret_file.chmod(0o600)
    return {"CLASSROOM_TURN_URLS": ",".join(turn.urls()), "CLASSROOM_TURN_SECRET_FILE": str(secret_file)}


class WeakLinkSession:
    def __init__(self, viewer: str, clean_viewer: str | None, data_dir: str, turn: bool = True) -> None:
        self.viewer_kind = viewer
        self.clean_kind = clean_viewer
        self.data_dir = data_dir
        self._closers: list[Any] = []
        self._viewer_log = open(os.path.join(data_dir, "viewers.log"), "wb")  # noqa: SIM115
        self._closers.append(self._viewer_log.close)
        self.link = WeakLink.create()
        self._closers.append(self.link.close)
        self.turn: Coturn | None = None
        if turn and missing_coturn() is None:  # TURN over TCP/TLS on the host end, for viewers without UDP
            self.turn = Coturn.start(self.link.host_ip, secrets.token_hex(16), tls=True,
                                     directory=os.path.join(data_dir, "coturn"))
            self._closers.append(self.turn.close)
        env = _turn_env(self.turn, data_dir) if self.turn else None
        self.server = Server(self.link.host_ip, data_dir, env)
        self._closers.append(self.server.close)
        self.publisher: Worker | None = None
        self.clean: Viewer | None = None
        self.lesson = ""
        self._tokens = 0

    @classmethod
    def start(cls, viewer: str = "aiortc", clean_viewer: str | None = "aiortc",
              data_dir: str | None = None, turn: bool = True) -> WeakLinkSession:
        """Link, coturn (when ``turn`` and installed), server, lesson, teacher and (unless
        ``clean_viewer`` is None) the clean viewer."""
        session = cls(viewer, clean_viewer, data_dir or tempfile.mkdtemp(prefix="weak-link-"), turn)
        atexit.register(session.close)
        try:
            session._open_lesson()
        except BaseException:
            session.close()
            raise
        return session

    def _token(self, role: str, subject: str) -> str:
        from classroom.roles import Role
        from server.edge.secret import load_or_create_secret
        from server.edge.tokens import TokenCodec

        codec = TokenCodec(load_or_create_secret(Path(self.data_dir)))
        return codec.issue(subject, Role(role), "east", ttl_s=6 * 3600)

    def viewer_token(self) -> str:
        self._tokens += 1  # one principal per viewer: the server caps one principal's sessions
        return self._token("classroom", f"viewer-{self._tokens}")

    def _open_lesson(self) -> None:
        self.server.wait_ready()
        teacher = self._token("teacher", "alice")
        body = json.dumps({"title": "weak link", "recording": False}).encode()
        request = urllib.request.Request(f"{self.server.base}/api/lessons", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {teacher}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            self.lesson = json.loads(resp.read())["id"]
        self.publisher = Worker(mp.get_context("spawn"), relay_peers.publisher_main, TEACHER_BITRATE,
                                name="weak-link-teacher")
        self._closers.append(self.publisher.close)
        self.publisher.call("start", timeout=60, url=f"{self.server.base}/whip/{self.lesson}", token=teacher,
                            pace=2.5)
        if self.clean_kind:
            self.clean = self.watch(self.clean_kind, link=None)
            if self.clean.wait_connected(20) is None:
                raise RuntimeError(f"the clean viewer did not connect: {self.clean.errors}")

    def watch(self, kind: str, link: WeakLink | None, turn: str | None = None) -> Viewer:
        viewer = Viewer(kind, self.server.base, self.lesson, self.viewer_token(), link, self._viewer_log, turn)
        self._closers.append(viewer.close)
        return viewer

    def _turn_used(self, scenario: Scenario) -> str | None:
        """What the weak viewer was offered beyond host candidates: the TURN URLs, or None."""
        if scenario.turn is None or self.turn is None:
            return None
        return ",".join(url for url in self.turn.urls() if url.startswith(scenario.turn))

    def teacher_stats(self) -> dict[str, Any]:
        assert self.publisher is not None
        return dict(self.publisher.call("stats", timeout=10))

    def run(self, scenario: Scenario, viewer: str | None = None) -> dict[str, Any]:
        """The weak viewer's (of kind ``viewer``, default the session's), the clean viewer's and the
        teacher's figures over the scenario's window."""
        self.link.impair(scenario.impairment)
        weak = self.watch(viewer or self.viewer_kind, self.link, turn=scenario.turn)
        try:
            connect_s = weak.wait_connected(scenario.connect_timeout_s)
            if connect_s is None:
                return {"scenario": scenario.name, "link": scenario.impairment.describe(), "connected": False,
                        "connect_timeout_s": scenario.connect_timeout_s, "errors": weak.errors[-3:],
                        "dropped": self.link.dropped(), "turn": self._turn_used(scenario)}
            time.sleep(SETTLE_S)
            return self._measure(scenario, weak, connect_s)
        finally:
            weak.close()
            self.link.impair(CLEAN)

    def _measure(self, scenario: Scenario, weak: Viewer, connect_s: float) -> dict[str, Any]:
        before = self._counters()
        start, burst_end, end = self._window(scenario)
        after = self._counters()
        time.sleep(0.3)  # one more sample after the window's end
        result: dict[str, Any] = {"scenario": scenario.name, "link": scenario.impairment.describe(),
                                  "turn": self._turn_used(scenario), "connect_s": connect_s,
                                  **window_figures(weak.samples, start, end), **_counter_figures(before, after)}
        if burst_end is not None:
            result.update(self._burst_figures(scenario, weak.samples, start, burst_end, end))
        if self.clean is not None:
            result["clean_viewer"] = window_figures(self.clean.samples, start, end)
        return result

    def _window(self, scenario: Scenario) -> tuple[float, float | None, float]:
        """Wait out the window, with the burst inside it; (start, burst's end or None, end)."""
        start = time.time()
        burst_end = None
        if scenario.burst is not None:
            time.sleep(scenario.burst_at_s)
            self.link.impair(scenario.burst)
            time.sleep(scenario.burst_s)
            self.link.impair(scenario.impairment)
            burst_end = time.time()
        time.sleep(max(0.0, start + scenario.window_s - time.time()))
        return start, burst_end, time.time()

    def _counters(self) -> dict[str, Any]:
        return {"t": time.time(), "teacher": self.teacher_stats(), "nft": self.link.dropped(),
                "shaper": self.link.shaper_counters(), "relay": self.relay_counters()}

    def relay_counters(self) -> dict[str, float]:
        """The server's media counters for this lesson (GET /metrics), summed over audio and video:
        ``{"retransmitted_packets": ..., "nacked_packets": ..., "forwarded_packets": ...}``."""
        request = urllib.request.Request(f"{self.server.base}/metrics",
                                         headers={"Authorization": f"Bearer {self._token('admin', 'bench')}"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            text = resp.read().decode()
        counts = dict.fromkeys(RELAY_COUNTERS, 0.0)
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            metric = name.split("{")[0].removeprefix("classroom_media_").removesuffix("_total")
            if metric in counts and f'lesson="{self.lesson}"' in name:
                counts[metric] += float(value)
        return counts

    @staticmethod
    def _burst_figures(scenario: Scenario, samples: Samples, start: float, burst_end: float,
                       end: float) -> dict[str, Any]:
        before = window_figures(samples, start, start + scenario.burst_at_s)
        clean_fps = before.get("video_fps") or 0.0
        return {"burst": scenario.burst.describe() if scenario.burst else None, "burst_s": scenario.burst_s,
                "fps_before_burst": clean_fps,
                "fps_during_burst": window_figures(samples, burst_end - scenario.burst_s, burst_end).get("video_fps"),
                "recover_s": recovery_s(samples, burst_end, clean_fps) if clean_fps else None}

    def close(self) -> None:
        """Stop everything started, newest first; idempotent."""
        while self._closers:
            closer = self._closers.pop()
            with contextlib.suppress(Exception):
                closer()
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def __enter__(self) -> WeakLinkSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
