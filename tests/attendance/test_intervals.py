"""The interval algebra under attendance: merge, bridge, clip, intersect, union, total."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classroom.attendance.intervals import Interval, clip, covers, intersect, merge, total, union
from classroom.errors import ValidationError


def spans(*pairs: tuple[float, float]) -> tuple[Interval, ...]:
    return tuple(Interval(start, end) for start, end in pairs)


@pytest.mark.parametrize(
    ("given_spans", "bridge_s", "expected"),
    [
        pytest.param([], 0.0, [], id="nothing_merges_to_nothing"),
        pytest.param([(5, 9), (0, 2)], 0.0, [(0, 2), (5, 9)], id="disjoint_spans_come_back_sorted"),
        pytest.param([(0, 5), (3, 9)], 0.0, [(0, 9)], id="overlapping_spans_merge"),
        pytest.param([(0, 5), (5, 9)], 0.0, [(0, 9)], id="touching_spans_merge"),
        pytest.param([(0, 9), (2, 3)], 0.0, [(0, 9)], id="a_contained_span_disappears"),
        pytest.param([(0, 5), (8, 9)], 3.0, [(0, 9)], id="a_gap_equal_to_the_bridge_is_bridged"),
        pytest.param([(0, 5), (8.5, 9)], 3.0, [(0, 5), (8.5, 9)], id="a_gap_longer_than_the_bridge_stays"),
        pytest.param([(0, 5), (7, 7), (9, 12)], 2.0, [(0, 12)], id="an_instant_can_bridge_two_gaps"),
        pytest.param([(4, 4)], 0.0, [(4, 4)], id="merge_keeps_an_instant"),
    ],
)
def test_merge(given_spans: list[tuple[float, float]], bridge_s: float, expected: list[tuple[float, float]]) -> None:
    assert merge(spans(*given_spans), bridge_s) == spans(*expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param([(0, 10)], [(5, 20)], [(5, 10)], id="overlap_is_kept"),
        pytest.param([(0, 10)], [(10, 20)], [], id="a_shared_instant_is_no_time"),
        pytest.param([(0, 3), (5, 9)], [(2, 6), (8, 20)], [(2, 3), (5, 6), (8, 9)], id="several_pieces_pair_up"),
        pytest.param([(5, 9), (0, 3)], [(0, 20)], [(0, 3), (5, 9)], id="unsorted_input_is_sorted_first"),
        pytest.param([], [(0, 1)], [], id="nothing_intersects_nothing"),
    ],
)
def test_intersect(
    a: list[tuple[float, float]], b: list[tuple[float, float]], expected: list[tuple[float, float]]
) -> None:
    assert intersect(spans(*a), spans(*b)) == spans(*expected)
    assert intersect(spans(*b), spans(*a)) == spans(*expected)


def test_clip_cuts_spans_to_the_window_and_drops_outside_ones() -> None:
    window = Interval(10, 20)
    assert clip(spans((0, 12), (15, 16), (19, 30), (25, 40), (0, 10)), window) == spans((10, 12), (15, 16), (19, 20))


def test_union_merges_groups_and_total_counts_overlaps_once() -> None:
    joined = union(spans((0, 5)), spans((3, 8), (10, 12)))
    assert joined == spans((0, 8), (10, 12))
    assert total(spans((0, 5), (3, 8), (10, 12))) == 10


@pytest.mark.parametrize(
    ("at", "inside"),
    [(-1, False), (0, True), (3, True), (5, True), (6, False), (8, True), (9, True), (9.5, False)],
    ids=lambda value: str(value),
)
def test_covers_includes_both_bounds(at: float, inside: bool) -> None:
    assert covers(spans((0, 5), (8, 9)), at) is inside


@pytest.mark.parametrize(
    ("start", "end"),
    [(5, 4), (float("nan"), 1), (0, float("inf"))],
    ids=["start_after_end", "nan_start", "infinite_end"],
)
def test_interval_rejects_bad_bounds(start: float, end: float) -> None:
    with pytest.raises(ValidationError):
        Interval(start, end)


def test_merge_refuses_a_negative_bridge() -> None:
    with pytest.raises(ValidationError, match="bridge_s"):
        merge(spans((0, 1)), bridge_s=-1)


pairs = st.tuples(st.integers(0, 1000), st.integers(0, 100)).map(lambda p: Interval(p[0], p[0] + p[1]))


@given(st.lists(pairs, max_size=12), st.lists(pairs, max_size=12))
def test_intersection_is_sorted_disjoint_and_no_longer_than_either_side(a: list[Interval], b: list[Interval]) -> None:
    both = intersect(a, b)
    assert all(left.end < right.start for left, right in zip(both, both[1:], strict=False))
    assert total(both) <= min(total(a), total(b))
    assert total(union(a, b)) == total(a) + total(b) - total(both)
