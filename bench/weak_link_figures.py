"""Figures of one viewer over one window, from the samples bench/weak_link_viewer.py writes (pure).

A sample is ``{"t": unix time, "state": ..., "connected_at": ..., "video": {...}, "audio": {...}}``
with cumulative counters (getStats' own); a figure is the counters' difference across the window.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Samples", "recovery_s", "window_figures"]

Samples = list[dict[str, Any]]
STALL_S = 0.5  # a trailing run without a decoded frame longer than this counts as frozen


def _between(samples: Samples, start: float, end: float) -> Samples:
    return [s for s in samples if start <= s["t"] <= end and "video" in s]


def _delta(first: dict[str, Any], last: dict[str, Any], kind: str, key: str) -> float:
    return float(last[kind][key]) - float(first[kind][key])


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _trailing_stall(window: Samples) -> float:
    last_frames = window[-1]["video"]["framesDecoded"]
    stalled_since = window[-1]["t"]
    for sample in reversed(window):
        if sample["video"]["framesDecoded"] != last_frames:
            break
        stalled_since = sample["t"]
    stall = window[-1]["t"] - stalled_since
    return stall if stall > STALL_S else 0.0


def window_figures(samples: Samples, start: float, end: float) -> dict[str, Any]:
    """What a viewer saw in [start, end]: audio concealment, fps, freezes, resolution, rates, loss."""
    window = _between(samples, start, end)
    connected = any(s.get("connected_at") for s in samples)
    if len(window) < 2 or not connected:
        return {"connected": connected, "samples": len(window)}
    first, last = window[0], window[-1]
    span = last["t"] - first["t"]
    d = {(kind, key): _delta(first, last, kind, key) for kind in ("video", "audio") for key in last[kind]}
    freeze_s = min(span, d["video", "totalFreezesDuration"] + _trailing_stall(window))
    return {
        "connected": True,
        "samples": len(window),
        "span_s": round(span, 2),
        "audio_concealment": _ratio(d["audio", "concealedSamples"], d["audio", "totalSamplesReceived"]),
        "video_fps": round(d["video", "framesDecoded"] / span, 2),
        "freeze_s": round(freeze_s, 2),
        "freezes": int(d["video", "freezeCount"]),
        "resolution": f"{last['video']['frameWidth']}x{last['video']['frameHeight']}",
        "rx_kbps": round((d["video", "bytesReceived"] + d["audio", "bytesReceived"]) * 8 / span / 1000, 1),
        "video_loss": _ratio(d["video", "packetsLost"], d["video", "packetsLost"] + d["video", "packetsReceived"]),
        "audio_loss": _ratio(d["audio", "packetsLost"], d["audio", "packetsLost"] + d["audio", "packetsReceived"]),
        "audio_packets": int(d["audio", "packetsReceived"]),
        "video_packets": int(d["video", "packetsReceived"]),
        "keyframes": int(d["video", "keyFramesDecoded"]),
        "plis_sent": int(d["video", "pliCount"]),
        "nacks_sent": int(d["video", "nackCount"]),
        "pair": last.get("pair"),
    }


def _fps_at(samples: Samples, index: int, span: float) -> float | None:
    """Frames per second over the ``span`` seconds that start at samples[index]."""
    start = samples[index]
    for sample in samples[index + 1:]:
        if sample["t"] - start["t"] >= span:
            frames = sample["video"]["framesDecoded"] - start["video"]["framesDecoded"]
            return float(frames / (sample["t"] - start["t"]))
    return None


def recovery_s(samples: Samples, burst_end: float, clean_fps: float, share: float = 0.8,
               span: float = 1.0) -> float | None:
    """Seconds from ``burst_end`` until the frame rate over the next ``span`` seconds is back to
    ``share`` x ``clean_fps`` (0 when it never fell); None when it never came back in the samples."""
    after = [s for s in samples if s["t"] >= burst_end and "video" in s]
    for index in range(len(after)):
        fps = _fps_at(after, index, span)
        if fps is None:
            return None
        if fps >= share * clean_fps:
            return round(max(0.0, after[index]["t"] - burst_end), 2)
    return None
