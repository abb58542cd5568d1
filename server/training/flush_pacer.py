"""FlushPacer: when the owner of a line may broadcast its next patch batch.

Latency first: a token bucket of flushes. A change on a quiet line goes out at once
(there is a token); only under load do changes wait and coalesce, and then the
batches leave at ``rate`` per second at most. ``burst`` tokens let a lone command go
out at once even right after a simulation tick's batch, without raising the
sustained rate. Pure: the caller passes the time (any monotonic clock, in seconds).
"""

from __future__ import annotations

__all__ = ["FlushPacer"]

_EPSILON = 1e-9  # a token refilled to 0.999999999 by float arithmetic is a token


class FlushPacer:
    """A token bucket of flushes: ``burst`` at once, ``rate`` per second sustained."""

    def __init__(self, rate: float, burst: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, not rate={rate} burst={burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst  # full until first asked
        self._at: float | None = None

    def wait(self, now: float) -> float:
        """Seconds until a flush may go out (0.0: now)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return missing / self.rate if missing > _EPSILON else 0.0

    def spend(self, now: float) -> None:
        """A flush went out at ``now`` (a forced one too: the bucket empties, never below zero)."""
        self._refill(now)
        self._tokens = max(0.0, self._tokens - 1.0)

    def _refill(self, now: float) -> None:
        if self._at is None:
            self._at = now
        elif now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
