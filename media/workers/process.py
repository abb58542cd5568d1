"""A media worker process: ``python -m media.workers.process CONTROL_FD PIPE_FD``.

Started by ``media.workers.pool.WorkerProcess`` with two inherited sockets. It reads the
pipe (producer packets) and the control channel (consumers moving in and out, binds,
pauses, NACKs), runs the ``DataPlane``, and reports counters and keyframe requests back.
It exits when the control channel closes: the main process ended, or asked it to.
"""

from __future__ import annotations

import logging
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import pylibsrtp

from .. import fanout
from .plane import DataPlane, OutboundStream
from .wire import CONTROL_MAX, OutboundSpec, RebaseState, decode, encode

__all__ = ["main"]

logger = logging.getLogger("media.workers.process")

STATS_INTERVAL = 0.25
STATS_PER_MESSAGE = 400  # snapshots per control message (each well under 100 bytes marshalled)
PIPE_BATCH = 256  # datagrams read per wake-up before control gets a turn


class SocketPort:
    """The subscriber's UDP socket (a dup of the ICE pair's) as a fan-out route sees a transport:
    the C leg writes to its fd, and hands it what the socket would not take at once (dropped here:
    a worker does not queue behind a full socket; the subscriber NACKs or asks for a keyframe)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False
        self.drops = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default

    def is_closing(self) -> bool:
        return self.closed

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.sock.sendto(data, addr)
        except OSError:
            self.drops += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        self.closed = True
        self.sock.close()


class Outbound:
    """One consumer's SRTP session and socket: ``send`` for a Python leg, ``route`` for a C leg."""

    def __init__(self, sock: socket.socket, key: bytes, profile: int, addr: tuple[str, int]) -> None:
        policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
        policy.allow_repeat_tx = True  # NACK answers protect a sequence number again, as aiortc allows
        self.session = pylibsrtp.Session(policy)
        self.port = SocketPort(sock)
        self.addr = addr
        self._protect = self.session.protect
        self._guard = {"session": self.session}

    def send(self, data: bytes) -> bool:
        try:
            self.port.sock.sendto(self._protect(data), self.addr)
        except (OSError, pylibsrtp.Error):
            return False
        return True

    def route(self) -> fanout.Route | None:
        port = self.port
        if port.closed:
            return None
        fn, ctx = fanout.srtp_pointers(self.session)
        fd, sockaddr = fanout.socket_target(port, self.addr)
        return fanout.Route(fn, ctx, self.session, fd, sockaddr, port, self.addr, port, "closed", False,
                            self._guard, "session", self.session)

    def dropped(self) -> int:
        return self.port.drops

    def close(self) -> None:
        self.port.close()


class Worker:
    def __init__(self, control: socket.socket, pipe: socket.socket) -> None:
        self.control = control
        self.pipe = pipe
        self.plane = DataPlane()
        self.outbound: dict[int, Outbound] = {}
        self.running = True
        self._next_stats = time.monotonic() + STATS_INTERVAL
        self._commands: dict[str, Callable[[tuple[Any, ...], list[int]], None]] = {
            "add": self._add, "spec": self._spec, "bind": self._bind, "pause": self._pause,
            "nack": self._nack, "remove": self._remove, "drop": self._drop, "exit": self._exit,
        }

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.pipe, selectors.EVENT_READ, self._read_pipe)
        selector.register(self.control, selectors.EVENT_READ, self._read_control)
        while self.running:
            timeout = max(0.0, self._next_stats - time.monotonic())
            for key, _ in selector.select(timeout):
                key.data()
            self._tell_keyframes()
            if time.monotonic() >= self._next_stats:
                self._next_stats = time.monotonic() + STATS_INTERVAL
                self._tell_stats()
        selector.close()
        for out in self.outbound.values():
            out.close()

    def _read_pipe(self) -> None:
        recv, receive = self.pipe.recv, self.plane.receive
        for _ in range(PIPE_BATCH):
            try:
                data = recv(65536)
            except BlockingIOError:
                return
            receive(data)

    def _read_control(self) -> None:
        for _ in range(PIPE_BATCH):
            try:
                data, fds, _, _ = socket.recv_fds(self.control, CONTROL_MAX, 4)
            except BlockingIOError:
                return
            except OSError:
                data, fds = b"", []
            if not data:
                self.running = False  # the main process is gone
                return
            self._command(data, fds)

    def _command(self, data: bytes, fds: list[int]) -> None:
        try:
            message = decode(data)
            self._commands[message[0]](message, fds)
        except Exception:  # a bad command is the main process's bug: log it, keep serving the others
            logger.exception("worker command failed")

    def _tell(self, message: tuple[Any, ...]) -> None:
        try:
            self.control.send(encode(message))
        except (BlockingIOError, InterruptedError):
            pass  # counters are cumulative and keyframe requests are asked again: drop
        except OSError:
            self.running = False

    def _tell_keyframes(self) -> None:
        wanted = self.plane.keyframe_wanted()
        if wanted:
            self._tell(("kf", wanted))

    def _tell_stats(self) -> None:
        snaps = self.plane.snapshots()
        for i in range(0, len(snaps), STATS_PER_MESSAGE):
            self._tell(("stats", snaps[i:i + STATS_PER_MESSAGE]))

    # --- commands --------------------------------------------------------------------------

    def _add(self, m: tuple[Any, ...], fds: list[int]) -> None:
        _, cid, spec, start, key, profile, addr = m
        if len(fds) != 1:
            for fd in fds:
                socket.close(fd)
            raise ValueError("add needs exactly one socket")
        self._forget_socket(cid)
        sock = socket.socket(fileno=fds[0])
        sock.setblocking(False)
        out = self.outbound[cid] = Outbound(sock, bytes(key), int(profile), (str(addr[0]), int(addr[1])))
        stream = OutboundStream(cid, OutboundSpec.from_wire(spec), RebaseState.from_wire(start), out.send,
                                self.plane.wanted, out.route, out.dropped)
        self.plane.add(stream)

    def _spec(self, m: tuple[Any, ...], fds: list[int]) -> None:
        _, cid, spec = m
        stream = self.plane.streams.get(cid)
        if stream is not None:
            stream.set_spec(OutboundSpec.from_wire(spec), stream.state())

    def _bind(self, m: tuple[Any, ...], fds: list[int]) -> None:
        self.plane.bind(m[1], None if m[2] < 0 else m[2])

    def _pause(self, m: tuple[Any, ...], fds: list[int]) -> None:
        stream = self.plane.streams.get(m[1])
        if stream is not None:
            stream.set_paused(bool(m[2]))
            self._tell(("stats", [stream.snapshot()]))  # the paused counters, without waiting for the tick

    def _nack(self, m: tuple[Any, ...], fds: list[int]) -> None:
        stream = self.plane.streams.get(m[1])
        if stream is not None:
            stream.retransmit(list(m[2]))

    def _remove(self, m: tuple[Any, ...], fds: list[int]) -> None:
        self.plane.remove(m[1])
        self._forget_socket(m[1])

    def _drop(self, m: tuple[Any, ...], fds: list[int]) -> None:
        self.plane.drop_pipe(m[1])

    def _exit(self, m: tuple[Any, ...], fds: list[int]) -> None:
        self.running = False

    def _forget_socket(self, cid: int) -> None:
        out = self.outbound.pop(cid, None)
        if out is not None:
            out.close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the main process decides
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(levelname)s %(message)s")
    control = socket.socket(fileno=int(argv[0]))
    pipe = socket.socket(fileno=int(argv[1]))
    pipe.setblocking(False)
    control.setblocking(False)
    try:
        Worker(control, pipe).run()
    finally:
        control.close()
        pipe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
