"""The token secret is created once, private, and reused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.edge.secret import load_or_create_secret


def test_secret_is_created_with_mode_0600_in_a_new_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "var"
    secret = load_or_create_secret(data_dir)
    path = data_dir / "token_secret"
    assert len(secret) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == secret.hex()


def test_secret_is_reused_on_the_next_start(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path) == load_or_create_secret(tmp_path)


def test_different_data_dirs_get_different_secrets(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path / "a") != load_or_create_secret(tmp_path / "b")


def test_corrupt_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "token_secret").write_text("not hex")
    with pytest.raises(ValueError, match="hex"):
        load_or_create_secret(tmp_path)
