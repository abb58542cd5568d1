"""A small two-station line for tests that need one without the shipped scenario."""

from __future__ import annotations

from typing import Any

from classroom.training.scenario import Scenario, parse_scenario

SMALL_LINE: dict[str, Any] = {
    "id": "small-line",
    "title": "press and robot",
    "seed": 7,
    "stations": [
        {"id": "press", "cycle_s": 0.5, "transition_s": 0.2, "scrap_rate": 0.1,
         "parameters": {"clamp_force": {"unit": "kN", "min": 100, "max": 800, "default": 400, "optimal": [300, 600]},
                        "guard_open": {"type": "bool", "default": False}},
         "alarms": {"P01": {"severity": "high", "text": "hydraulic pressure low"},
                    "P02": {"severity": "low", "text": "mould temperature drift"}}},
        {"id": "robot", "cycle_s": 0.3, "transition_s": 0.2,
         "parameters": {"speed": {"unit": "%", "min": 10, "max": 100, "default": 50}},
         "alarms": {"R01": {"severity": "critical", "text": "collision"}}},
    ],
    "links": [{"from": "press", "to": "robot", "capacity": 3}],
    "interlocks": [{"id": "press_guard", "station": "robot",
                    "when": {"station": "press", "parameter": "guard_open", "equals": True},
                    "blocks": ["start", "unhold"], "reason": "the robot cannot run while the press guard is open"}],
}


def small_line() -> Scenario:
    return parse_scenario(SMALL_LINE)
