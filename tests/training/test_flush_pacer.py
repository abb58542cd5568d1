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
