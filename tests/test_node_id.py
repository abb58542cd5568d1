"""A node's id is created once per data directory and read back afterwards."""

from __future__ import annotations

from pathlib import Path

from server.edge.node_id import NODE_ID_FILE, load_or_create_node_id


def test_a_data_dir_keeps_its_node_id(tmp_path: Path) -> None:
    first = load_or_create_node_id(tmp_path / "var")
    assert len(first) == 16
    assert load_or_create_node_id(tmp_path / "var") == first
    assert (tmp_path / "var" / NODE_ID_FILE).read_text().strip() == first


def test_two_data_dirs_are_two_nodes(tmp_path: Path) -> None:
    assert load_or_create_node_id(tmp_path / "a") != load_or_create_node_id(tmp_path / "b")
