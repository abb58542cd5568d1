"""Ed25519-signed checkpoints of the ledger's head, in the spirit of RFC 6962 signed tree heads.

The signed message is fixed text (a C2SP signed-note style body)::

    classroom-ledger-checkpoint/v1
    <seq>
    <hash, 64 lower-case hex>
    <at, RFC 3339 UTC with microseconds>

each line ending in ``\\n``. The signature is stored base64-encoded; ``key_id`` is the first 16 hex
digits of SHA-256 over the raw 32-byte public key.

The private key lives in ``DATA_DIR/ledger-signing.key`` or where ``CLASSROOM_LEDGER_KEY_FILE`` says
(PKCS#8 PEM, mode 0600, created on first use) and the public key in ``DATA_DIR/ledger-signing.pub``
(SubjectPublicKeyInfo PEM). Several nodes sharing one PostgreSQL ledger either share the key file,
or each keep their own and the verifier is given all their public keys (one PEM file holding several
keys: a keyring); each checkpoint names its key by ``key_id``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from classroom.ledger.chain import Checkpoint

__all__ = [
    "CHECKPOINT_CONTEXT",
    "PUBLIC_KEY_FILE",
    "SIGNING_KEY_FILE",
    "CheckpointSigner",
    "CheckpointVerifier",
    "checkpoint_message",
    "key_id_of",
]

log = logging.getLogger(__name__)

CHECKPOINT_CONTEXT = "classroom-ledger-checkpoint/v1"
SIGNING_KEY_FILE = "ledger-signing.key"
PUBLIC_KEY_FILE = "ledger-signing.pub"


def checkpoint_message(seq: int, hash: str, at: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return f"{CHECKPOINT_CONTEXT}\n{seq}\n{hash}\n{at}\n".encode()


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _public_pem(public_key: Ed25519PublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def _public_keys(data: bytes) -> list[Ed25519PublicKey]:
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise ValueError("no PEM public key found")
    keys = [serialization.load_pem_public_key(block) for block in blocks]
    if not all(isinstance(key, Ed25519PublicKey) for key in keys):
        raise ValueError("the ledger's public keys must be Ed25519 keys")
    return keys  # type: ignore[return-value]  # checked just above


class CheckpointVerifier:
    """Checks checkpoint signatures against the public key (or keys: one per node) of the ledger."""

    def __init__(self, public_key_pem: str | bytes) -> None:
        data = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
        self._keys = {key_id_of(key): key for key in _public_keys(data)}
        self._key = next(iter(self._keys.values()))
        self.key_id = ",".join(self._keys)

    @classmethod
    def load(cls, path: Path) -> CheckpointVerifier:
        """The verifier for the PEM public key in ``path``."""
        return cls(path.read_bytes())

    def check(self, cp: Checkpoint) -> bool:
        """True when ``cp`` carries this key's id and a valid signature over its message."""
        key = self._keys.get(cp.key_id)
        if key is None:
            return False
        try:
            signature = base64.b64decode(cp.signature, validate=True)
            key.verify(signature, checkpoint_message(cp.seq, cp.hash, cp.at))
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def public_key_pem(self) -> str:
        return _public_pem(self._key)


class HeadGuard(Protocol):
    """What stands between a write and its signature: the ledger must follow from what the node
    trusts (``server.ledger.trust.TrustedHead``)."""

    def check(self, tx: Any) -> None: ...

    def signed(self, checkpoint: Checkpoint) -> None: ...


class CheckpointSigner:
    """Signs checkpoints with the ledger's private key."""

    def __init__(self, private_key: Ed25519PrivateKey, guard: HeadGuard | None = None) -> None:
        self._key = private_key
        self.key_id = key_id_of(private_key.public_key())
        self.guard = guard
        """Checked before every signature; None signs whatever head the database holds."""

    @classmethod
    def load_or_create(cls, data_dir: Path, key_file: Path | None = None) -> CheckpointSigner:
        """The key in ``key_file`` (default ``data_dir/ledger-signing.key``), created (mode 0600) on
        first use; its public key is written to ``data_dir/ledger-signing.pub`` for ``verify`` and
        the API. A ``key_file`` elsewhere keeps the key out of reach of whoever edits the database."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = key_file or data_dir / SIGNING_KEY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = cls(_load_or_create_key(path))
        signer._write_public_key(data_dir / PUBLIC_KEY_FILE)
        return signer

    def sign(self, seq: int, hash: str, at: str) -> Checkpoint:
        """A checkpoint stating that the head was ``(seq, hash)`` at ``at``."""
        signature = self._key.sign(checkpoint_message(seq, hash, at))
        return Checkpoint(seq, hash, at, self.key_id, base64.b64encode(signature).decode("ascii"))

    def public_key_pem(self) -> str:
        """The public key as PEM, for an API that publishes it."""
        return _public_pem(self._key.public_key())

    def verifier(self) -> CheckpointVerifier:
        return CheckpointVerifier(self.public_key_pem())

    def _write_public_key(self, path: Path) -> None:
        pem = self.public_key_pem()
        if path.exists() and path.read_text() == pem:
            return
        _write_atomically(path, pem.encode("ascii"), 0o644, replace=True)
        log.info("wrote ledger public key path=%s key_id=%s", path, self.key_id)


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        if _write_atomically(path, pem, 0o600, replace=False):
            log.info("created ledger signing key path=%s key_id=%s", path, key_id_of(key.public_key()))
            return key
    return _read_key(path)  # it existed, or a concurrent first start won the race


def _read_key(path: Path) -> Ed25519PrivateKey:
    if path.stat().st_mode & 0o077:
        log.warning("ledger signing key is readable by group or others path=%s", path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _write_atomically(path: Path, data: bytes, mode: int, *, replace: bool) -> bool:
    """Write via a temporary file; False when ``path`` already existed and ``replace`` is False."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic: never overwrites a key another process just created
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True
