"""Settings, read once at start-up into a frozen object and passed down.

Precedence: explicit overrides (CLI flags) > ``CLASSROOM_*`` environment variables > defaults.

ICE servers are given as a comma-separated list of URLs. A TURN URL may carry credentials as
``turn:USER:PASS@host:port?transport=tcp``; percent-encode ``:``, ``@`` and ``,`` inside USER or
PASS (``%3A``, ``%40``, ``%2C``). STUN URLs carry no credentials.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote

from classroom.attendance import CURRENT_POLICY, POLICIES
from classroom.levels import DEFAULT_THRESHOLDS, Thresholds

__all__ = ["ENV_VARS", "IceServer", "Settings", "parse_ice_server", "parse_turn_url"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
ICE_SCHEMES = ("stun", "stuns", "turn", "turns")

T = TypeVar("T")


class IceServer(NamedTuple):
    """One entry of RTCConfiguration.iceServers."""

    urls: str
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, str]:
        """The browser's RTCIceServer dictionary."""
        data = {"urls": self.urls}
        if self.username is not None and self.credential is not None:
            data["username"] = self.username
            data["credential"] = self.credential
        return data


def parse_ice_server(url: str) -> IceServer:
    """Split ``turn:user:pass@host:port?transport=tcp`` into (urls, username, credential)."""
    scheme, sep, rest = url.strip().partition(":")
    if not sep or scheme.lower() not in ICE_SCHEMES or not rest:
        raise ValueError(f"ICE server {url!r} must start with one of stun:, stuns:, turn:, turns:")
    if "@" not in rest:
        return IceServer(urls=f"{scheme}:{rest}")
    if not scheme.lower().startswith("turn"):
        raise ValueError(f"ICE server {url!r}: only TURN URLs may carry credentials")
    userinfo, _, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not colon or not user or not host:
        raise ValueError(f"ICE server {url!r}: credentials must be written user:pass@host")
    return IceServer(urls=f"{scheme}:{host}", username=unquote(user), credential=unquote(password))


def parse_turn_url(url: str) -> str:
    """A TURN URL for clients (``turn:host:3478?transport=tcp``, ``turns:host:443?transport=tcp``):
    no credentials in it, they are issued per request from the shared secret."""
    server = parse_ice_server(url)
    if not server.urls.lower().startswith("turn"):
        raise ValueError(f"{url!r} is not a turn: or turns: URL")
    if server.username is not None:
        raise ValueError(f"{url!r}: no credentials here, they are issued from CLASSROOM_TURN_SECRET_FILE")
    return server.urls


def _turn_list(text: str) -> tuple[str, ...]:
    return tuple(parse_turn_url(part) for part in text.split(",") if part.strip())


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _ice_list(text: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in text.split(",") if part.strip())
    for url in urls:
        parse_ice_server(url)
    return urls


def _non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text.strip()


def _database_url(text: str) -> str:
    url = text.strip()
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql:// URL (unset: the embedded SQLite database)")
    return url


def _schema_name(text: str) -> str:
    name = text.strip()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError("must be a lower-case SQL identifier")
    return name


def _attendance_policy(text: str) -> str:
    version = text.strip()
    if version not in POLICIES:
        raise ValueError(f"unknown attendance policy; known: {', '.join(sorted(POLICIES))}")
    return version


_PORT = _int_in(0, 65535)
_ON_STAGE = _int_in(0, 64)
_WS_BYTES = _int_in(1024, 16 * 1024 * 1024)
_TTL = _int_in(60, 30 * 24 * 3600)
_SESSIONS_PER_PRINCIPAL = _int_in(1, 1000)
_SESSIONS_PER_LESSON = _int_in(1, 100_000)
_ICE_TIMEOUT = _int_in(1, 300)
_TURN_TTL = _int_in(300, 24 * 3600)
_MEDIA_WORKERS = _int_in(0, 64)

# field name -> (environment variable, parser)
ENV_VARS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "host": ("CLASSROOM_HOST", _non_empty),
    "port": ("CLASSROOM_PORT", _PORT),
    "data_dir": ("CLASSROOM_DATA_DIR", lambda text: Path(_non_empty(text))),
    "ice_servers": ("CLASSROOM_ICE_SERVERS", _ice_list),
    "max_on_stage": ("CLASSROOM_MAX_ON_STAGE", _ON_STAGE),
    "max_ws_message_bytes": ("CLASSROOM_MAX_WS_MESSAGE_BYTES", _WS_BYTES),
    "token_ttl_s": ("CLASSROOM_TOKEN_TTL_S", _TTL),
    "log_level": ("CLASSROOM_LOG_LEVEL", _log_level),
    "public_url": ("CLASSROOM_PUBLIC_URL", lambda text: text.strip() or None),
    "database_url": ("CLASSROOM_DATABASE_URL", lambda text: _database_url(text) or None),
    "database_schema": ("CLASSROOM_DATABASE_SCHEMA", lambda text: _schema_name(text)),
    "level_thresholds": ("CLASSROOM_LEVEL_THRESHOLDS", lambda text: Thresholds.parse(text).to_text()),
    "attendance_policy": ("CLASSROOM_ATTENDANCE_POLICY", _attendance_policy),
    "max_sessions_per_principal": ("CLASSROOM_MAX_SESSIONS_PER_PRINCIPAL", _SESSIONS_PER_PRINCIPAL),
    "max_sessions_per_lesson": ("CLASSROOM_MAX_SESSIONS_PER_LESSON", _SESSIONS_PER_LESSON),
    "ice_connect_timeout_s": ("CLASSROOM_ICE_CONNECT_TIMEOUT_S", _ICE_TIMEOUT),
    "turn_urls": ("CLASSROOM_TURN_URLS", _turn_list),
    "turn_secret_file": ("CLASSROOM_TURN_SECRET_FILE", lambda text: Path(_non_empty(text))),
    "turn_ttl_s": ("CLASSROOM_TURN_TTL_S", _TURN_TTL),
    "media_workers": ("CLASSROOM_MEDIA_WORKERS", _MEDIA_WORKERS),
    "ledger_key_file": ("CLASSROOM_LEDGER_KEY_FILE", lambda text: Path(_non_empty(text))),
    "ledger_trusted_file": ("CLASSROOM_LEDGER_TRUSTED_FILE", lambda text: Path(_non_empty(text))),
}


def _parse(label: str, parser: Callable[[str], T], text: str) -> T:
    try:
        return parser(text)
    except ValueError as exc:
        raise ValueError(f"{label}={text!r} is invalid: {exc}") from None


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment, validated."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./var")
    ice_servers: tuple[str, ...] = ()
    max_on_stage: int = 2
    max_ws_message_bytes: int = 65536
    token_ttl_s: int = 8 * 3600
    log_level: str = "info"
    public_url: str | None = None
    database_url: str | None = None
    """PostgreSQL for every store when several nodes share it; unset: SQLite files in the data dir."""
    database_schema: str = "classroom"
    """The PostgreSQL schema (namespace) of every store's tables."""
    level_thresholds: str = DEFAULT_THRESHOLDS.to_text()
    attendance_policy: str = CURRENT_POLICY
    max_sessions_per_principal: int = 4
    """WHIP/WHEP sessions one principal (school, role, subject) may hold at once, over all lessons."""
    max_sessions_per_lesson: int = 500
    """WHIP/WHEP sessions one lesson may hold at once."""
    ice_connect_timeout_s: int = 10
    """A peer connection that has not connected this long after its SDP exchange is closed."""
    turn_urls: tuple[str, ...] = ()
    """TURN URLs handed to clients with a fresh credential each (``GET /api/ice-servers``); empty: none."""
    turn_secret_file: Path | None = None
    """The secret shared with the TURN server (coturn ``static-auth-secret``), the file's first line;
    required with ``turn_urls``. Never sent to a client."""
    turn_ttl_s: int = 3600
    """How long an issued TURN credential can open new allocations. coturn checks the expiry only when
    an allocation is made (its refreshes pass after it, tests/turn), so a running connection outlives
    its credential; pages fetch a fresh one on every (re)connect and before an ICE restart near expiry."""
    media_workers: int = dataclasses.field(default_factory=lambda: min(64, os.cpu_count() or 1))
    """Processes that send subscribers' media (media/workers/WORKERS.md); 0 or 1: the server process does."""
    ledger_key_file: Path | None = None
    """The ledger's Ed25519 signing key (PKCS#8 PEM); unset: ``DATA_DIR/ledger-signing.key``. Keep it
    where whoever can edit the database cannot read it (another volume, a secrets mount)."""
    ledger_trusted_file: Path | None = None
    """The checkpoints this node signed and saw committed; unset: ``DATA_DIR/ledger-trusted.jsonl``.
    Like the key, it is what a database editor must not reach."""

    def __post_init__(self) -> None:
        checks: dict[str, Callable[[Any], Any]] = {
            "port": lambda v: _PORT(str(v)),
            "max_on_stage": lambda v: _ON_STAGE(str(v)),
            "max_ws_message_bytes": lambda v: _WS_BYTES(str(v)),
            "token_ttl_s": lambda v: _TTL(str(v)),
            "log_level": _log_level,
            "ice_servers": lambda v: [parse_ice_server(url) for url in v],
            "database_url": lambda v: v is None or _database_url(v),
            "database_schema": _schema_name,
            "level_thresholds": Thresholds.parse,
            "attendance_policy": _attendance_policy,
            "max_sessions_per_principal": lambda v: _SESSIONS_PER_PRINCIPAL(str(v)),
            "max_sessions_per_lesson": lambda v: _SESSIONS_PER_LESSON(str(v)),
            "ice_connect_timeout_s": lambda v: _ICE_TIMEOUT(str(v)),
            "turn_urls": lambda v: [parse_turn_url(url) for url in v],
            "turn_ttl_s": lambda v: _TURN_TTL(str(v)),
            "media_workers": lambda v: _MEDIA_WORKERS(str(v)),
        }
        for name, check in checks.items():
            _parse(name, check, getattr(self, name))
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.turn_urls and self.turn_secret_file is None:
            raise ValueError("turn_urls need turn_secret_file (CLASSROOM_TURN_SECRET_FILE), the secret shared "
                             "with the TURN server")
        object.__setattr__(self, "turn_urls", tuple(self.turn_urls))
        for name in ("ledger_key_file", "ledger_trusted_file", "turn_secret_file"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        object.__setattr__(self, "ice_servers", tuple(self.ice_servers))
        object.__setattr__(self, "log_level", self.log_level.lower())

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Defaults, then ``CLASSROOM_*`` variables, then overrides that are not None."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, (variable, parser) in ENV_VARS.items():
            if variable in environ:
                values[name] = _parse(variable, parser, environ[variable])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def ledger_key_path(self) -> Path:
        """Where the ledger's signing key is read (and created on first use)."""
        return self.ledger_key_file or self.data_dir / "ledger-signing.key"

    def ledger_trusted_path(self) -> Path:
        """Where this node keeps the checkpoints it trusts."""
        return self.ledger_trusted_file or self.data_dir / "ledger-trusted.jsonl"

    def turn_secret(self) -> bytes | None:
        """The TURN shared secret (the secret file's first line), None without TURN."""
        if not self.turn_urls or self.turn_secret_file is None:
            return None
        try:
            lines = self.turn_secret_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"CLASSROOM_TURN_SECRET_FILE={self.turn_secret_file} cannot be read: {exc}") from None
        secret = lines[0].strip() if lines else ""
        if not secret:
            raise ValueError(f"CLASSROOM_TURN_SECRET_FILE={self.turn_secret_file} is empty")
        return secret.encode("utf-8")

    def thresholds(self) -> Thresholds:
        """The level thresholds as an object."""
        return Thresholds.parse(self.level_thresholds)

    def ice_server_entries(self) -> tuple[IceServer, ...]:
        """The configured ICE servers as (urls, username, credential) entries."""
        return tuple(parse_ice_server(url) for url in self.ice_servers)
