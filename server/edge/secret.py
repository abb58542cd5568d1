"""The token signing secret: created once per data directory, reused afterwards."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

__all__ = ["SECRET_BYTES", "SECRET_FILE", "load_or_create_secret"]

log = logging.getLogger(__name__)

SECRET_FILE = "token_secret"
SECRET_BYTES = 32


def load_or_create_secret(data_dir: Path) -> bytes:
    """Return the secret in ``data_dir/token_secret``, creating it (mode 0600) if absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    if path.exists():
        return _read(path)
    secret = secrets.token_bytes(SECRET_BYTES)
    tmp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret.hex() + "\n")
        os.link(tmp, path)  # atomic: a concurrent first start keeps the winner's secret
    except FileExistsError:
        return _read(path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created token secret path=%s", path)
    return secret


def _read(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        log.warning("token secret is readable by group or others path=%s", path)
    text = path.read_text().strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path} does not hold a hex-encoded secret") from None
    if len(secret) < SECRET_BYTES:
        raise ValueError(f"{path} holds {len(secret)} bytes; at least {SECRET_BYTES} are needed")
    return secret
