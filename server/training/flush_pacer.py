"""FlushPacer: when the owner of a line broadcasts its pending patch batch (latency first).

The policy, Nagle-like with a short maximum delay:

- **Quiet line: at once.** A token bucket of flushes (``burst`` at once, refilled at ``rate``
  per second): while it holds a token, a pending change goes out at once. ``burst`` lets a
  lone command go out at once even right after a simulation tick's batch.
- **Under load: a window bounded by the latency budget.** Without a token, the batch goes out
  ``window`` seconds after its *first* change at the latest (or as soon as a token comes
  back, if sooner), carrying every change that arrived meanwhile. So no change waits longer
  than ``window`` for its batch, whatever the load; a fixed flush rate would make a change
  wait up to a whole interval (50 ms at 20 per second).
- **The flush rate follows the load.** With changes at ``r`` per second the window flushes
  about ``r / (1 + r * window)`` times per second: the batches grow with the load
  (``1 + r * window`` changes each) and never exceed ``1 / window`` per second, which bounds
  the per-batch envelope and the sends per recipient. Once the window flushes faster than
  ``rate`` the bucket stays empty (every flush spends a token, forced ones too) and the
  window alone paces; below that, the tokens let sparse changes out without waiting.

With the owner's settings (20 per second, burst 2, window 18 ms) a line taking 200 commands
per second flushes about 45 times per second, and a change waits 18 ms at most for its batch,
about 9 ms on average; bench/flush_pacing.py replays policies in virtual time and
bench/state_sync.py measures the whole path. Without ``window`` the pacer is the plain token
bucket (a change may wait up to ``1 / rate``).

Pure: the caller passes the time (any monotonic clock, in seconds). The owner calls
:meth:`changed` for each change it queues, :meth:`wait` for how long its pending batch may
still wait, and :meth:`spend` when a batch goes out (forced ones too, e.g. before a joiner's
snapshot).
"""

from __future__ import annotations

__all__ = ["FlushPacer"]

_EPSILON = 1e-9  # a token refilled to 0.999999999 by float arithmetic is a token


class FlushPacer:
    """Flushes at once while tokens last (``burst``, refilled at ``rate`` per second); without a
    token, a batch waits at most ``window`` seconds from its first change (None: until a token)."""

    def __init__(self, rate: float, burst: float, window: float | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, not rate={rate} burst={burst}")
        if window is not None and window < 0:
            raise ValueError(f"window must be >= 0, not {window}")
        self.rate = rate
        self.burst = burst
        self.window = window
        self._tokens = burst  # full until first asked
        self._at: float | None = None
        self._first: float | None = None  # when the pending batch's first change came

    def changed(self, now: float) -> None:
        """A change became pending at ``now``; the first of a batch opens its window."""
        if self._first is None:
            self._first = now

    def wait(self, now: float) -> float:
        """Seconds until a flush may go out (0.0: now)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        token_wait = missing / self.rate if missing > _EPSILON else 0.0
        if self.window is None or self._first is None:
            return token_wait
        return min(token_wait, max(0.0, self._first + self.window - now))

    def spend(self, now: float) -> None:
        """A flush went out at ``now`` (a forced one too: the bucket empties, never below zero)."""
        self._refill(now)
        self._tokens = max(0.0, self._tokens - 1.0)
        self._first = None

    def _refill(self, now: float) -> None:
        if self._at is None:
            self._at = now
        elif now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
