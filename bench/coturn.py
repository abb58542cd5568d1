"""A real TURN server for tests and benches: Debian's ``coturn`` (``turnserver``) as a subprocess.

    with Coturn.start("10.231.4.1", secret="s3cret", tls=True) as turn:
        turn.urls()        # ("turn:10.231.4.1:PORT?transport=tcp", "turns:10.231.4.1:PORT2?transport=tcp")
        turn.ca_file       # the self-signed certificate of its TLS listener (PEM), made at start

It runs with a configuration written to a temp dir: coturn's REST scheme (``use-auth-secret`` with
``static-auth-secret``), listening and relaying on one address only, free ports, no CLI, its own
user database file, its log on stdout (kept in ``log_path``). Its process group is killed on
``close()`` (and at exit): it never outlives its owner.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["TURNSERVER", "Coturn", "missing_coturn", "non_loopback_ipv4", "self_signed_certificate"]

TURNSERVER = "turnserver"
REALM = "classroom.test"
ALLOCATED = re.compile(r"user <([^>]*)>: incoming packet ALLOCATE processed, success")


def missing_coturn() -> str | None:
    """None when ``turnserver`` can run here, else what is missing (a skip reason)."""
    if shutil.which(TURNSERVER) is None:
        return "coturn's turnserver (Debian package coturn; .ci/run installs it)"
    return None


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback (browsers reach a TURN server from their
    network interfaces, not from 127.0.0.1), or None."""
    out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=False).stdout or "[]"
    for link in json.loads(out):
        for addr in link.get("addr_info", []):
            if not ipaddress.ip_address(addr["local"]).is_loopback:
                return str(addr["local"])
    return None


def _free_tcp_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def self_signed_certificate(ip: str, directory: Path) -> tuple[Path, Path]:
    """A fresh EC key and a self-signed certificate for ``ip`` (as its IP SAN): (cert, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "turn-cert.pem", directory / "turn-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class Coturn:
    """One ``turnserver`` listening (TCP and UDP on ``port``, TLS on ``tls_port``) and relaying on ``ip``."""

    def __init__(self, ip: str, secret: str, tls: bool, directory: str | None = None) -> None:
        self.ip = ip
        self.secret = secret
        self.dir = Path(directory or tempfile.mkdtemp(prefix="coturn-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_tcp_port(ip)
        self.tls_port = _free_tcp_port(ip) if tls else None
        self.ca_file: Path | None = None
        self.log_path = self.dir / "turnserver.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @classmethod
    def start(cls, ip: str, secret: str, tls: bool = True, directory: str | None = None,
              timeout_s: float = 10.0) -> Coturn:
        turn = cls(ip, secret, tls, directory)
        atexit.register(turn.close)
        try:
            turn._spawn()
            turn._wait_listening(timeout_s)
        except BaseException:
            turn.close()
            raise
        return turn

    def config(self) -> str:
        lines = [f"listening-ip={self.ip}", f"relay-ip={self.ip}", f"listening-port={self.port}",
                 "use-auth-secret", f"static-auth-secret={self.secret}", f"realm={REALM}", "fingerprint",
                 "no-cli", "no-dtls", "no-multicast-peers", "no-software-attribute", "verbose", "log-file=stdout",
                 "simple-log", f"pidfile={self.dir / 'turnserver.pid'}", f"userdb={self.dir / 'turndb'}",
                 "min-port=40000", "max-port=40999"]
        if self.tls_port is None:
            lines.append("no-tls")
        else:
            cert, key = self_signed_certificate(self.ip, self.dir)
            self.ca_file = cert
            lines += [f"tls-listening-port={self.tls_port}", f"cert={cert}", f"pkey={key}"]
        return "\n".join(lines) + "\n"

    def _spawn(self) -> None:
        conf = self.dir / "turnserver.conf"
        conf.write_text(self.config())
        conf.chmod(0o600)  # it holds the shared secret
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.popen = subprocess.Popen([TURNSERVER, "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def _wait_listening(self, timeout_s: float) -> None:
        assert self.popen is not None
        deadline = time.monotonic() + timeout_s
        ports = [p for p in (self.port, self.tls_port) if p is not None]
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"turnserver exited rc={self.popen.returncode}:\n{self.log_tail()}")
            if all(self._accepts(port) for port in ports):
                return
            time.sleep(0.05)
        raise TimeoutError(f"turnserver not listening within {timeout_s}s:\n{self.log_tail()}")

    def _accepts(self, port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.ip, port), timeout=0.5):
            return True
        return False

    def urls(self) -> tuple[str, ...]:
        """The URLs a client uses: TURN over TCP first, then TURN over TLS when it listens."""
        urls = [f"turn:{self.ip}:{self.port}?transport=tcp"]
        if self.tls_port is not None:
            urls.append(f"turns:{self.ip}:{self.tls_port}?transport=tcp")
        return tuple(urls)

    def allocated_users(self) -> list[str]:
        """The usernames of the allocations coturn granted so far (from its verbose log), in order."""
        found = []
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text(errors="replace").splitlines():
                match = ALLOCATED.search(line)
                if match:
                    found.append(match.group(1))
        return found

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return b"\n".join(self.log_path.read_bytes().splitlines()[-lines:]).decode(errors="replace")
        return ""

    def close(self) -> None:
        """Kill the server's process group and wait for it; idempotent, never raises."""
        if self.popen is not None and self.popen.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(3)
                    break
        if self._log is not None:
            self._log.close()
            self._log = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def __enter__(self) -> Coturn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
