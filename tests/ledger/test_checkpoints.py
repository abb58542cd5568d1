"""Signed checkpoints: an Ed25519 key made once per data directory, a fixed message, a verifier."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.ledger.checkpoints import (
    PUBLIC_KEY_FILE,
    SIGNING_KEY_FILE,
    CheckpointSigner,
    CheckpointVerifier,
    checkpoint_message,
)
from tests.ledger.conftest import AT

HEAD = "ab" * 32


def test_the_key_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = CheckpointSigner.load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / SIGNING_KEY_FILE).stat().st_mode) == 0o600
    assert (tmp_path / SIGNING_KEY_FILE).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / PUBLIC_KEY_FILE).read_text() == first.public_key_pem()
    again = CheckpointSigner.load_or_create(tmp_path)
    assert again.key_id == first.key_id
    (tmp_path / PUBLIC_KEY_FILE).unlink()
    CheckpointSigner.load_or_create(tmp_path)
    assert (tmp_path / PUBLIC_KEY_FILE).read_text() == first.public_key_pem()  # written back


def test_the_key_id_is_the_start_of_the_raw_public_keys_sha256(signer: CheckpointSigner) -> None:
    key = serialization.load_pem_public_key(signer.public_key_pem().encode())
    assert isinstance(key, Ed25519PublicKey)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_the_signed_message_is_fixed_text() -> None:
    expected = f"classroom-ledger-checkpoint/v1\n12\n{HEAD}\n{AT}\n".encode()
    assert checkpoint_message(12, HEAD, AT) == expected


def test_a_signed_checkpoint_verifies_with_the_published_public_key(signer: CheckpointSigner, tmp_path: Path) -> None:
    cp = signer.sign(12, HEAD, AT)
    assert (cp.seq, cp.hash, cp.at, cp.key_id) == (12, HEAD, AT, signer.key_id)
    assert len(base64.b64decode(cp.signature)) == 64
    verifier = CheckpointVerifier.load(tmp_path / "keys" / PUBLIC_KEY_FILE)
    assert verifier.key_id == signer.key_id and verifier.check(cp)


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": 13},
        {"hash": "cd" * 32},
        {"at": "2026-11-24T10:00:00.000001Z"},
        {"signature": base64.b64encode(bytes(64)).decode()},
        {"signature": "not base64!"},
        {"signature": ""},
        {"key_id": "0" * 16},
    ],
    ids=["seq", "hash", "at", "zero signature", "garbage signature", "empty signature", "key id"],
)
def test_an_altered_checkpoint_does_not_verify(signer: CheckpointSigner, changes: dict[str, object]) -> None:
    cp = dataclasses.replace(signer.sign(12, HEAD, AT), **changes)  # type: ignore[arg-type]
    assert not signer.verifier().check(cp)


def test_another_keys_signature_does_not_verify(signer: CheckpointSigner, tmp_path: Path) -> None:
    other = CheckpointSigner.load_or_create(tmp_path / "other")
    forged = dataclasses.replace(other.sign(12, HEAD, AT), key_id=signer.key_id)
    assert other.key_id != signer.key_id
    assert not signer.verifier().check(forged)


def test_a_public_key_that_is_not_ed25519_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError):
        CheckpointVerifier(pem)


def test_a_keyring_verifies_the_checkpoints_of_every_node_and_only_theirs(tmp_path: Path) -> None:
    node_a = CheckpointSigner.load_or_create(tmp_path / "a")
    node_b = CheckpointSigner.load_or_create(tmp_path / "b")
    stranger = CheckpointSigner.load_or_create(tmp_path / "c")
    keyring = CheckpointVerifier(node_a.public_key_pem() + node_b.public_key_pem())
    assert keyring.key_id == f"{node_a.key_id},{node_b.key_id}"
    assert keyring.check(node_a.sign(1, "ab" * 32, AT)) and keyring.check(node_b.sign(2, "cd" * 32, AT))
    assert not keyring.check(stranger.sign(3, "ef" * 32, AT))
    assert not CheckpointVerifier(node_a.public_key_pem()).check(node_b.sign(2, "cd" * 32, AT))
