"""Scenarios shipped with the project, as package data next to this module.

``builtin_scenario_path(name)`` only names the file; reading and parsing it is the
caller's I/O (server/training/scenarios.py).
"""

from __future__ import annotations

from pathlib import Path

from classroom.errors import NotFound

__all__ = ["BUILTIN", "builtin_scenario_path"]

BUILTIN = ("mould_machining_line",)


def builtin_scenario_path(name: str) -> Path:
    """The JSON file of a shipped scenario; NotFound for a name that is not in BUILTIN."""
    if name not in BUILTIN:
        raise NotFound(f"no scenario {name[:60]!r}; available: {', '.join(BUILTIN)}")
    return Path(__file__).with_name(f"{name}.json")
