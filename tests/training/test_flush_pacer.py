"""The flush pacer: at once on a quiet line, coalescing under load, never above its rate."""

from __future__ import annotations

import pytest

from server.training.flush_pacer import FlushPacer


def test_a_quiet_pacer_lets_a_flush_go_at_once() -> None:
    pacer = FlushPacer(rate=20, burst=2)
    assert pacer.wait(100.0) == 0.0


def test_the_burst_goes_at_once_then_the_next_flush_waits_one_interval() -> None:
    pacer = FlushPacer(rate=20, burst=2)
    for _ in range(2):
        assert pacer.wait(100.0) == 0.0
        pacer.spend(100.0)
    assert pacer.wait(100.0) == pytest.approx(0.05)
    assert pacer.wait(100.02) == pytest.approx(0.03)
    assert pacer.wait(100.05) == 0.0


def test_a_quiet_spell_refills_the_bucket_but_never_beyond_the_burst() -> None:
    pacer = FlushPacer(rate=20, burst=2)
    pacer.spend(0.0)
    pacer.spend(0.0)
    assert pacer.wait(60.0) == 0.0
    pacer.spend(60.0)
    pacer.spend(60.0)
    assert pacer.wait(60.0) > 0.0


def test_forced_flushes_empty_the_bucket_but_never_push_it_below_zero() -> None:
    pacer = FlushPacer(rate=20, burst=2)
    for _ in range(50):  # e.g. a crowd joining: each join flushes what is pending
        pacer.spend(1.0)
    assert pacer.wait(1.0) == pytest.approx(0.05)


def test_under_sustained_load_flushes_never_exceed_the_rate_and_no_change_waits_longer_than_an_interval() -> None:
    pacer = FlushPacer(rate=20, burst=2)
    flushes, pending_since, worst = 0, None, 0.0
    for step in range(2000):  # a change every 5 ms for 10 s; the owner flushes as soon as it may
        now = step * 0.005
        pending_since = now if pending_since is None else pending_since
        if pacer.wait(now) == 0.0:
            pacer.spend(now)
            flushes += 1
            worst = max(worst, now - pending_since)
            pending_since = None
    assert flushes <= 20 * 10 + 2
    assert flushes >= 20 * 10 - 1
    assert worst <= 0.05 + 1e-9


def test_a_rate_or_burst_that_cannot_flush_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        FlushPacer(rate=0, burst=2)
    with pytest.raises(ValueError, match="burst"):
        FlushPacer(rate=20, burst=0.5)


# --- the window: under load no change waits longer than it, and the flush rate follows the load --------


def test_without_a_token_a_batch_goes_out_one_window_after_its_first_change() -> None:
    pacer = FlushPacer(rate=20, burst=1, window=0.018)
    pacer.changed(100.0)
    assert pacer.wait(100.0) == 0.0  # a quiet line: the token lets it out at once
    pacer.spend(100.0)
    pacer.changed(100.004)  # the first change of the next batch opens its window
    pacer.changed(100.010)
    assert pacer.wait(100.010) == pytest.approx(0.012)
    assert pacer.wait(100.022) == 0.0
    pacer.spend(100.022)
    assert pacer.wait(100.022) == pytest.approx(0.05)  # nothing pending: the bucket, emptied again, alone


def test_a_token_that_comes_back_before_the_window_ends_lets_the_batch_out_sooner() -> None:
    pacer = FlushPacer(rate=100, burst=1, window=0.018)
    pacer.spend(0.0)
    pacer.changed(0.001)
    assert pacer.wait(0.001) == pytest.approx(0.009)  # the token is back at 10 ms, before the window's 19 ms


def test_a_forced_flush_closes_the_window_so_the_next_change_opens_a_new_one() -> None:
    pacer = FlushPacer(rate=20, burst=1, window=0.018)
    pacer.spend(5.0)
    pacer.changed(5.001)
    pacer.spend(5.002)  # e.g. a joiner's snapshot flushed what was pending
    pacer.changed(5.010)
    assert pacer.wait(5.010) == pytest.approx(0.018)


def window_replay(rate_per_s: float, window: float, seconds: float = 20.0) -> tuple[float, float]:
    """Evenly spread changes, the owner flushing as soon as it may: (worst wait, flushes per second)."""
    pacer = FlushPacer(rate=20, burst=2, window=window)
    step, flushes, pending_since, worst = 1 / rate_per_s, 0, None, 0.0
    for index in range(int(seconds * rate_per_s)):
        now = index * step
        if pending_since is not None and (due := pending_since + (wait := pacer.wait(pending_since))) < now:
            pacer.spend(due)  # the owner's timeout fired before this change came
            flushes, worst, pending_since = flushes + 1, max(worst, wait), None
        pacer.changed(now)
        pending_since = now if pending_since is None else pending_since
        if pacer.wait(now) == 0.0:
            pacer.spend(now)
            flushes, worst, pending_since = flushes + 1, max(worst, now - pending_since), None
    return worst, flushes / seconds


@pytest.mark.parametrize("rate_per_s", [200, 400, 1000])
def test_under_load_no_change_waits_longer_than_the_window_and_flushes_stay_under_one_per_window(
    rate_per_s: float,
) -> None:
    worst, flushes_per_s = window_replay(rate_per_s, window=0.018)
    assert worst <= 0.018 + 1e-9
    assert flushes_per_s <= 1 / 0.018 + 0.2  # the burst at the start


def test_the_flush_rate_follows_the_load_and_sparse_changes_go_out_alone() -> None:
    sparse, busy, heavy = (window_replay(rate, window=0.018)[1] for rate in (10, 200, 1000))
    assert sparse == pytest.approx(10, abs=0.1)  # every change alone: tokens to spare
    assert 20 < busy < heavy <= 1 / 0.018 + 0.2


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        FlushPacer(rate=20, burst=2, window=-0.001)
