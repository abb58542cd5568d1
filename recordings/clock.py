"""The media clock of one recording file (pure).

Every track of a file shares one origin: the wall-clock arrival of the file's
first frame. A track's first frame is placed by its own arrival; after that its
frames follow its RTP timestamps (already rebased by the tap, so continuous
across publisher changes). Audio and video of one publisher are captured
together, so placing each by its first arrival keeps them aligned; following
RTP timestamps afterwards keeps network jitter out of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MediaClock"]

_TS_MOD = 1 << 32
_TS_HALF = 1 << 31


@dataclass(slots=True)
class _Track:
    start_ms: float
    clock_rate: int
    last_ts: int
    elapsed: int = 0  # RTP ticks since the track's first frame (unwrapped, signed)


class MediaClock:
    """Milliseconds since the recording started, per track."""

    def __init__(self) -> None:
        self.origin: float | None = None
        self._tracks: dict[int, _Track] = {}

    def ms(self, track: int, ts: int, clock_rate: int, arrival: float) -> int:
        state = self._tracks.get(track)
        if state is None:
            if self.origin is None:
                self.origin = arrival
            state = self._tracks[track] = _Track((arrival - self.origin) * 1000.0, clock_rate, ts)
        state.elapsed += ((ts - state.last_ts + _TS_HALF) % _TS_MOD) - _TS_HALF
        state.last_ts = ts
        return round(state.start_ms + state.elapsed * 1000.0 / state.clock_rate)
