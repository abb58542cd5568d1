"""Patches: coalesced batches applied in order rebuild the server's document exactly."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.errors import DomainError, ValidationError
from classroom.training.commands import execute, parse_command
from classroom.training.packml import Action
from classroom.training.patches import REMOVED, Coalescer, apply_patch, pointer
from classroom.training.simulation import advance
from classroom.training.state import initial_state
from tests.training.line_helpers import STATIONS, TEACHER, action, parameter, shipped_line

DRAIN = "drain"
STEP = st.one_of(
    st.just(DRAIN),
    st.sampled_from([0.1, 0.5, 2.0, 10.0, 30.0]),
    st.builds(action, st.sampled_from(STATIONS), st.sampled_from([a.value for a in Action])),
    st.builds(parameter, st.sampled_from(["press", "robot", "vision"]),
              st.sampled_from(["guard_open", "speed", "reject_threshold", "clamp_force"]),
              st.one_of(st.booleans(), st.integers(10, 1500))),
    st.builds(lambda s, c: {"kind": "assign_station", "station": s, "classroom": c}, st.sampled_from(STATIONS),
              st.sampled_from([None, "nujiang-1"])),
    st.builds(lambda r: {"kind": "set_fault_rate", "rate_per_hour": r}, st.sampled_from([0, 30, 60])),
    st.builds(lambda s, c: {"kind": c[0], "station": s, "code": c[1]}, st.just("press"),
              st.sampled_from([("inject_fault", "P-504"), ("acknowledge_alarm", "P-504"), ("inject_fault", "P-501"),
                               ("acknowledge_alarm", "P-501")])),
)
# Start the whole line first so that ticks produce parts, move buffers and raise faults.
START = [action(station, "reset") for station in STATIONS] + [5.0] + [action(s, "start") for s in STATIONS] + [5.0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, max_size=60), st.integers(0, 2**16))
def test_drained_batches_applied_in_order_rebuild_the_final_document(steps: list[Any], seed: int) -> None:
    state = initial_state(shipped_line(seed=seed))
    initial = state.document()
    coalescer, batches = Coalescer(), []
    for step in [*START, *steps, DRAIN]:
        if step == DRAIN:
            if (batch := coalescer.drain()) is not None:
                batches.append(batch)
            continue
        before = state
        try:
            state, changes = advance(state, step) if isinstance(step, float) else execute(
                state, TEACHER, parse_command(step))
        except DomainError:
            continue
        if changes:
            coalescer.add(state.revision, changes, before.values)

    document, revision = initial, 0
    for batch in batches:
        assert batch["from"] == revision + 1 and batch["to"] >= batch["from"]
        paths = [op["path"] for op in batch["ops"]]
        assert len(paths) == len(set(paths)), "one op per path: the latest value"
        document, revision = apply_patch(document, batch["ops"]), batch["to"]
    assert revision == state.revision
    assert document == state.document()
    assert not coalescer


def test_batch_carries_the_latest_value_per_path_and_the_revision_range() -> None:
    coalescer = Coalescer()
    coalescer.add(4, {"/a": 1, "/b": True}, {"/a": 0, "/b": False})
    coalescer.add(5, {"/a": 2}, {"/a": 1, "/b": True})
    coalescer.add(6, {"/a": 3}, {"/a": 2, "/b": True})
    assert coalescer.drain() == {"from": 4, "to": 6, "ops": [{"op": "replace", "path": "/a", "value": 3},
                                                             {"op": "replace", "path": "/b", "value": True}]}


def test_next_batch_starts_after_the_last_drained_revision() -> None:
    coalescer = Coalescer()
    coalescer.add(1, {"/a": 1}, {"/a": 0})
    first = coalescer.drain()
    coalescer.add(2, {"/a": 2}, {"/a": 1})
    second = coalescer.drain()
    assert first is not None and second is not None
    assert (first["from"], first["to"], second["from"], second["to"]) == (1, 1, 2, 2)


def test_drain_with_nothing_recorded_gives_none() -> None:
    coalescer = Coalescer()
    assert not coalescer and coalescer.drain() is None


def test_new_path_is_added_and_existing_path_is_replaced_or_removed() -> None:
    coalescer = Coalescer()
    coalescer.add(1, {"/x/new": 1, "/x/old": 2, "/x/gone": REMOVED}, {"/x/old": 1, "/x/gone": 0})
    batch = coalescer.drain()
    assert batch is not None
    assert batch["ops"] == [{"op": "add", "path": "/x/new", "value": 1},
                            {"op": "replace", "path": "/x/old", "value": 2},
                            {"op": "remove", "path": "/x/gone"}]
    assert apply_patch({"x": {"old": 1, "gone": 0}}, batch["ops"]) == {"x": {"new": 1, "old": 2}}


def test_path_added_then_removed_inside_one_batch_vanishes() -> None:
    coalescer = Coalescer()
    coalescer.add(1, {"/tmp": 1}, {})
    coalescer.add(2, {"/tmp": REMOVED}, {"/tmp": 1})
    assert coalescer.drain() == {"from": 1, "to": 2, "ops": []}


def test_path_removed_then_added_again_inside_one_batch_is_replaced() -> None:
    coalescer = Coalescer()
    coalescer.add(1, {"/a": REMOVED}, {"/a": 1})
    coalescer.add(2, {"/a": 5}, {})
    batch = coalescer.drain()
    assert batch is not None and batch["ops"] == [{"op": "replace", "path": "/a", "value": 5}]


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": "/stations/press/nothing", "value": 1},
    {"op": "remove", "path": "/stations/press/nothing"},
    {"op": "replace", "path": "/stations/oven/status", "value": "idle"},
    {"op": "remove", "path": "/buffers/none/deeper"},
    {"op": "add", "path": "/stations/press/status/deeper", "value": 1},
    {"op": "move", "path": "/stations/press/status", "value": 1},
], ids=["replace-missing-leaf", "remove-missing-leaf", "replace-under-missing-parent", "remove-under-missing-parent",
        "add-below-a-scalar", "unsupported-op"])
def test_apply_patch_refuses_an_op_that_does_not_fit_and_leaves_the_document_alone(op: dict[str, Any]) -> None:
    document = {"stations": {"press": {"status": "stopped"}}, "buffers": {}}
    kept = copy.deepcopy(document)
    with pytest.raises(ValidationError):
        apply_patch(document, [{"op": "replace", "path": "/stations/press/status", "value": "idle"}, op])
    assert document == kept


def test_pointer_escapes_slash_and_tilde_and_apply_patch_unescapes_them() -> None:
    path = pointer("parts", "a/b", "c~d")
    assert path == "/parts/a~1b/c~0d"
    assert apply_patch({}, [{"op": "add", "path": path, "value": 1}]) == {"parts": {"a/b": {"c~d": 1}}}


def test_apply_patch_copies_values_instead_of_sharing_them() -> None:
    value = {"nested": [1, 2]}
    result = apply_patch({}, [{"op": "add", "path": "/v", "value": value}])
    value["nested"].append(3)
    assert result == {"v": {"nested": [1, 2]}}
