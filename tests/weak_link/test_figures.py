"""The weak-link figures from a viewer's samples (bench/weak_link_figures.py): pure, no network."""

from __future__ import annotations

from typing import Any

from weak_link_figures import recovery_s, window_figures


def _sample(t: float, frames: int, *, concealed: int = 0, samples: int = 0, freezes_s: float = 0.0,
            lost: int = 0, received: int = 0) -> dict[str, Any]:
    return {"t": t, "state": "connected", "connected_at": 0.5, "pair": None,
            "video": {"framesDecoded": frames, "freezeCount": int(freezes_s > 0), "totalFreezesDuration": freezes_s,
                      "frameWidth": 640, "frameHeight": 360, "keyFramesDecoded": 1, "pliCount": 0, "nackCount": 0,
                      "packetsReceived": received, "packetsLost": lost, "bytesReceived": received * 1000},
            "audio": {"concealedSamples": concealed, "totalSamplesReceived": samples, "packetsReceived": 0,
                      "packetsLost": 0, "bytesReceived": 0}}


def test_window_figures_are_the_counters_differences_over_the_window() -> None:
    samples = [_sample(t / 4, 30 * t // 4, concealed=t * 10, samples=t * 1000, received=t * 20, lost=t)
               for t in range(0, 41)]  # 10 s at 30 fps, 1 % concealed, 1 packet of 21 lost
    figures = window_figures(samples, 2.0, 8.0)
    assert figures["span_s"] == 6.0
    assert 29 <= figures["video_fps"] <= 31
    assert figures["audio_concealment"] == 0.01
    assert figures["video_loss"] == round(1 / 21, 4)
    assert figures["resolution"] == "640x360"
    assert figures["freeze_s"] == 0


def test_a_stall_still_going_at_the_windows_end_counts_as_frozen() -> None:
    samples = [_sample(t / 4, min(30 * t // 4, 60)) for t in range(0, 41)]  # frames stop at 2 s
    figures = window_figures(samples, 0.0, 10.0)
    assert 7.5 <= figures["freeze_s"] <= 8.0


def test_a_viewer_that_never_connected_has_no_figures() -> None:
    samples = [{**_sample(t / 4, 0), "connected_at": None, "state": "checking"} for t in range(0, 20)]
    assert window_figures(samples, 0.0, 5.0) == {"connected": False, "samples": 20}


def test_recovery_is_the_time_until_a_second_of_video_is_back_to_80_percent() -> None:
    # 30 fps until 3 s, nothing for 3 s, then 30 fps again from 7.5 s on
    frames, samples = 0, []
    for step in range(0, 60):
        t = step / 4
        if t <= 3 or t > 7.5:
            frames += 30 // 4 + (step % 2)
        samples.append(_sample(t, frames))
    assert recovery_s(samples, burst_end=6.0, clean_fps=30) == 1.5
    assert recovery_s(samples, burst_end=1.0, clean_fps=30) == 0.0  # it never fell
    assert recovery_s(samples[:28], burst_end=6.0, clean_fps=30) is None  # not back within the samples
