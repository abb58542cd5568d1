"""WorkerPool: the media worker processes of this node, and which consumer runs where.

Placement follows mediasoup's pipe transports: a consumer moves to the least-loaded
worker once its transport is connected; a feed with consumers in a worker is piped to
that worker once (``FeedPipe``), however many of them it serves there. A worker that
dies is noticed on its control channel: its consumers fall back to sending in-process,
and the pool never raises for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpSender

from ..aiortc_adapter import send_route
from ..rtp import one_byte_extensions
from .remote import FeedPipe, RemoteConsumer
from .wire import CONTROL_MAX, OutboundSpec, decode, encode

if TYPE_CHECKING:
    from ..consumer import Consumer
    from ..feed import Feed

__all__ = ["WorkerPool", "WorkerProcess"]

logger = logging.getLogger(__name__)

PIPE_BUFFER = 512 << 10
"""SO_SNDBUF of the pipe. Linux doubles it and charges ~2.3 KiB per 1.2 KiB packet: ~450 packets
(about two seconds of an HD feed) queue towards a worker before the pipe drops. Enough for a keyframe
burst that arrives while the worker waits for a core (a pipe drop cannot be NACKed: the worker never
had the packet); a worker further behind is too late to be useful."""
CONTROL_BUFFER = 1 << 20
BACKLOG_NACKS = 1000
"""commands waiting for a slow worker beyond which NACKs are dropped (structural commands never are)"""
CLOSE_DEADLINE_S = 3.0
SRTP_FRESH_PACKETS = 0x7000
"""a consumer that sent this many packets may have wrapped its sequence numbers: it stays in-process"""
LESSON_SPREAD = 16
"""consumers a lesson's worker may carry above the least-loaded one before the lesson spreads"""
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class WorkerProcess:
    """One worker: its process, its control channel and its pipe."""

    def __init__(self, index: int, on_message: Callable[[WorkerProcess, tuple[Any, ...]], None],
                 on_exit: Callable[[WorkerProcess], None]) -> None:
        self.index = index
        self.remotes: dict[int, RemoteConsumer] = {}
        self.pipes: dict[tuple[str, str, int], FeedPipe] = {}
        self.alive = False
        self.pipe_drops = 0
        self._on_message = on_message
        self._on_exit = on_exit
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._pipe: socket.socket | None = None
        self._backlog: deque[tuple[bytes, list[int]]] = deque()
        self._waiting = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        control, control_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pipe, pipe_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            pipe.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIPE_BUFFER)
            control.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CONTROL_BUFFER)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH"))
                                                          if p))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "media.workers.process", str(control_child.fileno()), str(pipe_child.fileno())],
                pass_fds=(control_child.fileno(), pipe_child.fileno()), env=env, stdin=subprocess.DEVNULL)
        finally:
            control_child.close()
            pipe_child.close()
        control.setblocking(False)
        pipe.setblocking(False)
        self._control, self._pipe = control, pipe
        asyncio.get_running_loop().add_reader(control.fileno(), self._readable)
        self.alive = True
        logger.info("media worker started worker=%s pid=%s", self.index, self._proc.pid)

    def send_pipe(self, data: bytes) -> bool:
        pipe = self._pipe
        if pipe is None:
            return False
        try:
            pipe.send(data)
        except OSError:  # full (the worker is behind) or gone: the packet is lost for this worker only
            self.pipe_drops += 1
            if self.pipe_drops & (self.pipe_drops - 1) == 0:  # 1, 2, 4, 8...: visible, never a flood
                logger.warning("media worker pipe full worker=%s drops=%d", self.index, self.pipe_drops)
            return False
        return True

    def command(self, message: tuple[Any, ...], fds: tuple[int, ...] = ()) -> None:
        """Send a command in order; what the channel cannot take now waits in ``_backlog`` (never lost).

        File descriptors are duplicated at once: the caller may close its own before the command leaves.
        """
        if self._control is None:
            return
        if len(self._backlog) >= BACKLOG_NACKS and message[0] == "nack":
            return  # a worker this far behind gains nothing from retransmitting: the subscriber asks again
        self._backlog.append((encode(message), [os.dup(fd) for fd in fds]))
        if len(self._backlog) == 1:
            self._flush()

    def _flush(self) -> None:
        control, backlog = self._control, self._backlog
        while control is not None and backlog:
            data, fds = backlog[0]
            try:
                socket.send_fds(control, [data], fds)
            except BlockingIOError:
                if not self._waiting:
                    asyncio.get_running_loop().add_writer(control.fileno(), self._writable)
                    self._waiting = True
                return
            except OSError as exc:  # the worker is gone: its reader will notice and hand its consumers back
                logger.warning("media worker command lost worker=%s error=%r", self.index, exc)
            backlog.popleft()
            for fd in fds:
                os.close(fd)

    def _writable(self) -> None:
        self._stop_waiting()
        self._flush()

    def _stop_waiting(self) -> None:
        if self._waiting and self._control is not None:
            asyncio.get_running_loop().remove_writer(self._control.fileno())
        self._waiting = False

    def _readable(self) -> None:
        control = self._control
        for _ in range(64):
            if control is None:
                return
            try:
                data = control.recv(CONTROL_MAX)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            try:
                self._on_message(self, decode(data))
            except Exception:  # a report we cannot read must not take the server down
                logger.exception("media worker report failed worker=%s", self.index)

    def _lost(self) -> None:
        if self.alive:
            self.alive = False
            self._release()
            self._on_exit(self)

    def _release(self) -> None:
        self._stop_waiting()
        for _, fds in self._backlog:
            for fd in fds:
                os.close(fd)
        self._backlog.clear()
        if self._control is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None

    async def close(self) -> None:
        """Ask the process to exit, then make sure it did (killed after a deadline); always reaped."""
        if self._control is not None:
            self.command(("exit",))
            deadline = time.monotonic() + CLOSE_DEADLINE_S
            while self._backlog and self._control is not None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)  # the writer callback flushes what is left, "exit" last
        self.alive = False
        self._release()
        proc = self._proc
        if proc is None:
            return
        deadline = time.monotonic() + CLOSE_DEADLINE_S
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if proc.poll() is None:
            logger.warning("media worker did not exit, killing worker=%s pid=%s", self.index, proc.pid)
            proc.kill()
        await asyncio.to_thread(proc.wait)


class WorkerPool:
    """``count`` worker processes, started by ``MediaEngine.start`` and closed by ``MediaEngine.close``."""

    def __init__(self, count: int, spread: int = LESSON_SPREAD) -> None:
        self.count = count
        self.spread = spread
        self.workers: list[WorkerProcess] = []
        self.lost: list[WorkerProcess] = []
        self._next_id = 0
        self._reaping: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        for index in range(self.count):
            worker = WorkerProcess(index, self._message, self._worker_lost)
            worker.start()
            self.workers.append(worker)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- placement -------------------------------------------------------------------------

    def adopt(self, consumer: Consumer, sender: RTCRtpSender, feeds: Callable[[str], Feed | None],
              router_uid: str) -> bool:
        """Move a negotiated consumer of a connected transport to a worker; False: it stays here."""
        params = consumer.parameters
        if consumer.closed or params is None or consumer.packets >= SRTP_FRESH_PACKETS:
            return False  # a worker's SRTP session starts at rollover counter 0 (see WORKERS.md, Limits)
        spec = OutboundSpec(params.mime_type, params.clock_rate, params.payload_type, params.ssrc,
                            one_byte_extensions(params.extensions))
        if isinstance(consumer.remote, RemoteConsumer):
            consumer.remote.set_spec(spec)
            return True
        worker = self._least_loaded(router_uid)
        route = send_route(sender) if worker is not None else None
        if worker is None or route is None:
            return False
        remote = RemoteConsumer(self, worker, self._new_id(), consumer, feeds, router_uid)
        worker.remotes[remote.cid] = remote
        worker.command(("add", remote.cid, spec.to_wire(), consumer.stream_state().to_wire(), route.srtp_key,
                        route.srtp_profile, route.addr), (route.fileno,))
        consumer.on_close(lambda _: self._release(remote))
        consumer.offload(remote)
        return True

    def _least_loaded(self, router_uid: str) -> WorkerProcess | None:
        """The worker for a new consumer of the lesson ``router_uid``.

        A lesson stays on the workers it already uses while one of them has at most ``spread``
        consumers more than the least-loaded worker; beyond that it spreads to the least-loaded
        one (and its feeds are piped there too).
        """
        alive = [w for w in self.workers if w.alive]
        if not alive:
            return None
        least = min(alive, key=lambda w: (len(w.remotes), w.index))
        serving = [w for w in alive if any(k[0] == router_uid for k in w.pipes)
                   and len(w.remotes) <= len(least.remotes) + self.spread]
        return min(serving, key=lambda w: (len(w.remotes), w.index)) if serving else least

    def bind(self, remote: RemoteConsumer, feed: Feed | None) -> None:
        """Point a remote consumer at ``feed`` (None: idle), piping the feed to its worker if needed."""
        old = remote.pipe
        pipe = self._pipe_for(remote.worker, feed, remote.router_uid) if feed is not None else None
        if pipe is not None:
            pipe.consumers.add(remote)
        remote.pipe = pipe
        remote.worker.command(("bind", remote.cid, pipe.id if pipe is not None else -1))
        if old is not None and old is not pipe:
            self._leave(old, remote)

    def _pipe_for(self, worker: WorkerProcess, feed: Feed, router_uid: str) -> FeedPipe:
        key = (router_uid, feed.key, worker.index)
        pipe = worker.pipes.get(key)
        if pipe is None or pipe.closed:
            pipe = worker.pipes[key] = FeedPipe(self._new_id(), worker, feed, router_uid)
            pipe.on_close(lambda closed: self._forget_pipe(worker, closed))
            feed.add(pipe)
        return pipe

    @staticmethod
    def _forget_pipe(worker: WorkerProcess, pipe: FeedPipe) -> None:
        if worker.pipes.get(pipe.key) is pipe:
            del worker.pipes[pipe.key]

    def _leave(self, pipe: FeedPipe, remote: RemoteConsumer) -> None:
        pipe.consumers.discard(remote)
        if not pipe.consumers:
            pipe.close()

    def _release(self, remote: RemoteConsumer) -> None:
        worker = remote.worker
        if worker.remotes.pop(remote.cid, None) is not None:
            worker.command(("remove", remote.cid))
        if remote.pipe is not None:
            self._leave(remote.pipe, remote)
            remote.pipe = None

    # --- from the workers -------------------------------------------------------------------

    def _message(self, worker: WorkerProcess, message: tuple[Any, ...]) -> None:
        if message[0] == "stats":
            for values in message[1]:
                remote = worker.remotes.get(values[0])
                if remote is not None:
                    remote.apply(values)
        elif message[0] == "kf":
            for cid in message[1]:
                remote = worker.remotes.get(cid)
                if remote is not None:
                    remote.request_keyframe()

    def _worker_lost(self, worker: WorkerProcess) -> None:
        logger.error("media worker exited worker=%s pid=%s consumers=%d: they fall back in-process",
                     worker.index, worker.pid, len(worker.remotes))
        self.lost.append(worker)
        for remote in list(worker.remotes.values()):
            worker.remotes.pop(remote.cid, None)
            if remote.pipe is not None:
                self._leave(remote.pipe, remote)
                remote.pipe = None
            remote.fall_back()
        task = asyncio.ensure_future(worker.close())  # reaps the process
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    async def close(self) -> None:
        for worker in self.workers:
            await worker.close()
        await asyncio.gather(*self._reaping, return_exceptions=True)
        self.workers.clear()
