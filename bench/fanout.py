"""Fan-out micro-benchmark: CPU per packet per subscriber of media.fanout, C and Python legs.

    python bench/fanout.py                 # 100 legs, 2000 packets of 1100 bytes
    python bench/fanout.py --legs 10 --packets 5000

Each leg has its own UDP socket (as aiortc gives each peer its own) and its own SRTP session, and
sends to one receiving socket that nobody reads (the kernel drops what overflows it: the sending
cost is the same). The Python legs send as media.aiortc_adapter.OutboundPort.send does (route
checks, pylibsrtp protect, the asyncio transport's sendto). Also timed: the same packet count
written with bare socket.sendto, no SRTP (the kernel's share). The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import pylibsrtp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from media import fanout  # noqa: E402
from media.rtp import ForwardedPacket, one_byte_extensions  # noqa: E402


class Link:
    """One subscriber's send path: what OutboundPort resolves (state, nominated pair, socket, SRTP)."""

    def __init__(self, transport: Any, addr: Any, index: int) -> None:
        policy = pylibsrtp.Policy(key=bytes([index % 256]) * 30, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        policy.allow_repeat_tx = True
        self.session = pylibsrtp.Session(policy)
        self.transport = transport
        self.addr = addr
        self.state = "connected"
        self.nominated: dict[int, object] = {1: object()}
        self.pair = self.nominated[1]
        self.protect = self.session.protect
        self.sendto = transport.sendto

    def send(self, data: bytes) -> bool:  # OutboundPort.send, route already resolved
        if self.state != "connected" or self.nominated.get(1) is not self.pair:
            return False
        self.sendto(self.protect(data), self.addr)
        return True

    def route(self) -> fanout.Route:
        fd, sockaddr = fanout.socket_target(self.transport, self.addr)
        fn, ctx = fanout.srtp_pointers(self.session)
        return fanout.Route(fn, ctx, self.session, fd, sockaddr, self.transport, self.addr, self, "state",
                            "connected", self.nominated, 1, self.pair)


def cpu() -> float:
    t = os.times()
    return t.user + t.system


async def run(legs: int, packets: int, size: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    sink, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    addr = sink.get_extra_info("sockname")
    transports = [(await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)))[0]
                  for _ in range(legs)]
    results: dict[str, Any] = {}
    try:
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        source = object()
        for impl in fanout.implementations():
            links = [Link(t, addr, i) for i, t in enumerate(transports)]
            made = [impl.leg(90000, 1000 * i, 0, link.send, link.route, lambda p, pk: True) for i, link in
                    enumerate(links)]
            for leg in made:
                leg.set_header(96, 0x1000, one_byte_extensions([(4, b"1")]))
            group = tuple(made)
            start_cpu, start = cpu(), time.perf_counter()
            for seq in range(packets):
                impl.deliver(group, source, ForwardedPacket(seq, seq * 30, 0, payload, seq == 0, time.monotonic()))
                if seq % 50 == 0:
                    await asyncio.sleep(0)  # let the loop breathe as the server's would
            used, wall = cpu() - start_cpu, time.perf_counter() - start
            sent = sum(leg.packets for leg in made)
            results[impl.name] = {"us_per_packet_per_leg": round(used / sent * 1e6, 2), "sent": sent,
                                  "failures": sum(leg.send_failures for leg in made), "wall_s": round(wall, 2),
                                  "direct": all(leg.direct for leg in made)}
        socks = [t.get_extra_info("socket") for t in transports]
        raw = [s.fileno() for s in socks]
        import socket as socket_module

        dups = [socket_module.socket(fileno=os.dup(fd)) for fd in raw]
        data = payload + bytes(12 + 8 + 10)
        start_cpu = cpu()
        for _ in range(packets):
            for s in dups:
                s.sendto(data, addr)
        used = cpu() - start_cpu
        for s in dups:
            s.close()
        results["bare_sendto"] = {"us_per_packet_per_leg": round(used / (packets * legs) * 1e6, 2)}
    finally:
        for t in transports:
            t.close()
        sink.close()
        await asyncio.sleep(0)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--legs", type=int, default=100)
    parser.add_argument("--packets", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1100, help="payload bytes")
    args = parser.parse_args()
    results = asyncio.run(run(args.legs, args.packets, args.size))
    for name, r in results.items():
        print(f"{name:>12}: {r['us_per_packet_per_leg']:6.2f} us CPU per packet per leg")
    native, python = results.get("native"), results.get("python")
    speedup = round(python["us_per_packet_per_leg"] / native["us_per_packet_per_leg"], 2) if native and python else None
    print(json.dumps({"legs": args.legs, "packets": args.packets, "size": args.size, "load": os.getloadavg()[0],
                      "speedup": speedup, **results}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
