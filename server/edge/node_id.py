"""This node's id: created once per data directory, reused afterwards.

Rows a node alone can act on (a recording's media files are on its disk) carry it, so nodes sharing
one PostgreSQL never act on each other's rows.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

__all__ = ["NODE_ID_FILE", "load_or_create_node_id"]

log = logging.getLogger(__name__)

NODE_ID_FILE = "node_id"


def load_or_create_node_id(data_dir: Path) -> str:
    """The id in ``data_dir/node_id``, created (16 hex digits) if absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / NODE_ID_FILE
    if path.exists():
        return path.read_text().strip()
    node = secrets.token_hex(8)
    tmp = data_dir / f".{NODE_ID_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    tmp.write_text(node + "\n")
    try:
        os.link(tmp, path)  # atomic: a concurrent first start keeps the winner's id
    except FileExistsError:
        return path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created node id node=%s path=%s", node, path)
    return node
