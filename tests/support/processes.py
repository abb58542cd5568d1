"""Running the server's command (``python -m server``) in a subprocess from the checkout under test."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ROOT", "env_for"]

ROOT = Path(__file__).resolve().parent.parent.parent


def env_for(data_dir: Path) -> dict[str, str]:
    """The test's environment without ``CLASSROOM_*``, with ``data_dir`` and this checkout on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSROOM_")}
    env["CLASSROOM_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env
