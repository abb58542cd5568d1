"""Loading scenario files (the I/O edge of classroom.training.scenario)."""

from __future__ import annotations

import functools
import json

from classroom.errors import NotFound, ValidationError
from classroom.training.scenario import Scenario, parse_scenario

__all__ = ["load_builtin"]


@functools.cache
def load_builtin(name: str) -> Scenario:
    """A scenario shipped with the project, by name; NotFound or ValidationError naming the field."""
    from classroom.training.scenarios import BUILTIN, builtin_scenario_path

    if name not in BUILTIN:
        raise NotFound(f"no scenario {name[:60]!r}; available: {', '.join(BUILTIN)}")
    try:
        data = json.loads(builtin_scenario_path(name).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"scenario {name}: not valid JSON: {exc}") from None
    return parse_scenario(data)
