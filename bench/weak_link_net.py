"""A weak link on this machine: a network namespace joined to the host by a veth pair, shaped by
``tc tbf`` and made lossy (or UDP-blind) by nftables ``numgen random`` rules inside the namespace.

    with WeakLink.create() as link:               # namespace + veth + addresses, deleted on exit
        link.impair(Impairment(rate_kbit=1000, loss_pct=5))
        link.run_in(["python", "viewer.py"])      # a process whose only network is the link
        link.impair(CLEAN)

The host end of the veth (``link.host_ip``) is where a server outside the namespace is reached;
nothing else on the host is touched. Shaping (tbf) applies to both directions (the host end's
egress is the downstream, the namespace end's egress the upstream); loss rules drop the given share
of packets entering and leaving the namespace; ``udp_blocked`` drops every UDP packet both ways.
Nothing here needs the kernel's netem qdisc (absent on this kernel).

Names carry the creating process's pid (``weaklink-<pid>-<n>``); ``sweep_stale()`` deletes the
namespaces of processes that no longer exist (a run killed with SIGKILL cannot clean up itself).
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

__all__ = ["CLEAN", "Impairment", "WeakLink", "missing_requirements", "namespaces", "sweep_stale"]

PREFIX = "weaklink-"
SUBNET = ipaddress.IPv4Network("10.231.0.0/16")  # one /30 of it per link
NFT_TABLE = "weaklink"
TBF_BURST = "16kb"  # about 10 full-size packets may leave back to back
TBF_LATENCY = "300ms"  # the shaper's queue holds this much at the configured rate, the rest is dropped


@dataclass(frozen=True)
class Impairment:
    """What the link does to packets: a rate (kbit/s, None = unshaped), a random loss in percent
    (both directions), and whether UDP is dropped altogether."""

    rate_kbit: int | None = None
    loss_pct: float = 0.0
    udp_blocked: bool = False

    def describe(self) -> str:
        parts = [f"{self.rate_kbit} kbit/s" if self.rate_kbit else "unshaped"]
        if self.loss_pct:
            parts.append(f"{self.loss_pct:g} % loss")
        if self.udp_blocked:
            parts.append("UDP blocked")
        return ", ".join(parts)


CLEAN = Impairment()


def missing_requirements() -> list[str]:
    """What this machine lacks to build a weak link: root, ``ip`` (iproute2), ``tc``, ``nft`` (nftables)."""
    missing = [f"{tool} ({package})" for tool, package in (("ip", "iproute2"), ("tc", "iproute2"),
                                                           ("nft", "nftables")) if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (network namespaces need CAP_NET_ADMIN)")
    elif not missing:
        missing.extend(_namespace_probe())
    return missing


def _namespace_probe() -> list[str]:
    """Root in a container without CAP_SYS_ADMIN still cannot make a namespace: try one."""
    name = f"{PREFIX}{os.getpid()}-probe"
    made = _run("ip", "netns", "add", name, check=False)
    if made.returncode != 0:
        return [f"the right to create network namespaces (ip netns add: {made.stderr.strip()})"]
    _run("ip", "netns", "del", name, check=False)
    return []


def _run(*argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=20)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {result.returncode}: {result.stderr.strip()}")
    return result


def namespaces() -> list[str]:
    """The weak-link namespaces that exist now (any process's)."""
    out = _run("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Delete the namespaces left by weak-link processes that are gone; returns their names."""
    swept = []
    for name in namespaces():
        pid = name[len(PREFIX):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            _run("ip", "netns", "del", name, check=False)
            swept.append(name)
    return swept


def _used_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = _run("ip", "-j", "-4", "addr", check=False).stdout or "[]"
    nets = []
    for link in json.loads(out):
        for addr in link.get("addr_info", []):
            nets.append(ipaddress.ip_network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
    return nets


def _free_subnet() -> ipaddress.IPv4Network:
    used = _used_networks()
    subnets = list(SUBNET.subnets(new_prefix=30))
    for net in random.Random(os.getpid()).sample(subnets, 64):
        if not any(net.version == other.version and net.overlaps(other) for other in used):
            return net
    raise RuntimeError(f"no free /30 in {SUBNET}")


_counter = iter(range(1, 1 << 30))


class WeakLink:
    """One namespace, one veth pair, one /30: ``host_ip`` on the host end, ``ns_ip`` inside."""

    def __init__(self) -> None:
        index = next(_counter)
        self.name = f"{PREFIX}{os.getpid()}-{index}"
        self.host_if = f"wl{os.getpid()}h{index}"[:15]
        self.ns_if = f"wl{os.getpid()}n{index}"[:15]
        net = _free_subnet()
        self.host_ip, self.ns_ip = (str(host) for host in net.hosts())
        self.prefix = net.prefixlen
        self.impairment = CLEAN
        self.closed = False

    @classmethod
    def create(cls) -> WeakLink:
        link = cls()
        atexit.register(link.close)
        try:
            link._build()
        except BaseException:
            link.close()
            raise
        return link

    def _build(self) -> None:
        _run("ip", "netns", "add", self.name)
        _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if, "netns", self.name)
        _run("ip", "addr", "add", f"{self.host_ip}/{self.prefix}", "dev", self.host_if)
        _run("ip", "link", "set", self.host_if, "up")
        _run("ip", "-n", self.name, "addr", "add", f"{self.ns_ip}/{self.prefix}", "dev", self.ns_if)
        _run("ip", "-n", self.name, "link", "set", self.ns_if, "up")
        _run("ip", "-n", self.name, "link", "set", "lo", "up")
        self._nft(CLEAN)

    def impair(self, impairment: Impairment) -> None:
        """Apply ``impairment`` now (replacing the previous one, atomically for the nftables part)."""
        self._shape(impairment.rate_kbit)
        self._nft(impairment)
        self.impairment = impairment

    def _shape(self, rate_kbit: int | None) -> None:
        for prefix in (("tc",), ("tc", "-n", self.name)):
            dev = self.host_if if len(prefix) == 1 else self.ns_if
            if rate_kbit is None:
                _run(*prefix, "qdisc", "del", "dev", dev, "root", check=False)
            else:
                _run(*prefix, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{rate_kbit}kbit",
                     "burst", TBF_BURST, "latency", TBF_LATENCY)

    def _nft(self, impairment: Impairment) -> None:
        rules = []
        if impairment.udp_blocked:
            rules.append("meta l4proto udp counter drop")
        if impairment.loss_pct > 0:
            rules.append(f"numgen random mod 10000 < {round(impairment.loss_pct * 100)} counter drop")
        body = "\n".join(f"    {rule}" for rule in rules)
        chains = "\n".join(f"  chain {hook} {{\n    type filter hook {hook} priority 0; policy accept;\n{body}\n  }}"
                           for hook in ("input", "output"))
        script = f"table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\ntable inet {NFT_TABLE} {{\n{chains}\n}}\n"
        _run("ip", "netns", "exec", self.name, "nft", "-f", "-", stdin=script)

    def dropped(self) -> dict[str, int]:
        """Packets the nftables rules dropped so far, per direction (``input``: towards the namespace)."""
        out = _run("ip", "netns", "exec", self.name, "nft", "-j", "list", "table", "inet", NFT_TABLE).stdout
        counts = {"input": 0, "output": 0}
        for item in json.loads(out).get("nftables", []):
            rule = item.get("rule")
            if rule:
                for expr in rule.get("expr", []):
                    if "counter" in expr:
                        counts[rule["chain"]] += int(expr["counter"]["packets"])
        return counts

    def shaper_counters(self) -> dict[str, int]:
        """The downstream shaper's (tbf on the host end) counters so far: packets and bytes it let
        through, packets it dropped from its queue; all zero while the link is unshaped."""
        out = _run("tc", "-j", "-s", "qdisc", "show", "dev", self.host_if, check=False).stdout or "[]"
        counts = {"packets": 0, "bytes": 0, "drops": 0}
        for qdisc in json.loads(out):
            if qdisc.get("kind") == "tbf":
                for key in counts:
                    counts[key] += int(qdisc.get(key, 0))
        return counts

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` prefixed to run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        return subprocess.Popen(self.command(argv), **kwargs)

    def close(self) -> None:
        """Delete the veth pair and the namespace; idempotent, never raises."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            _run("ip", "link", "del", self.host_if, check=False)  # takes the peer with it at once
        with contextlib.suppress(Exception):
            _run("ip", "netns", "del", self.name, check=False)
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def __enter__(self) -> WeakLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
