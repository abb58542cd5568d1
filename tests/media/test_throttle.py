"""media.throttle: keyframe requests reach the publisher at most once per interval, none is lost."""

from __future__ import annotations

import asyncio

from media.throttle import KeyframeThrottle
from tests.support.wait import wait_for

TOLERANCE = 1e-3  # asyncio may run a timer up to one clock tick early


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_first_request_is_sent_immediately() -> None:
    sent: list[int] = []
    throttle = KeyframeThrottle(lambda: sent.append(1), interval=0.5, clock=FakeClock())

    throttle.request()

    assert sent == [1]
    assert throttle.sent == 1


async def test_requests_after_the_interval_are_sent_immediately() -> None:
    clock = FakeClock()
    throttle = KeyframeThrottle(lambda: None, interval=0.5, clock=clock)
    throttle.request()

    clock.now += 0.5
    throttle.request()
    clock.now += 0.75
    throttle.request()

    assert throttle.sent == 3


async def test_a_burst_inside_the_window_is_deferred_to_one_send_not_dropped() -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []
    throttle = KeyframeThrottle(lambda: times.append(loop.time()), interval=0.05)
    throttle.request()
    for _ in range(10):
        throttle.request()

    assert throttle.sent == 1  # nothing else goes out inside the window
    await wait_for(lambda: throttle.sent == 2, timeout=5)

    assert times[1] - times[0] >= 0.05 - TOLERANCE
    assert throttle._deferred is None  # the burst collapsed into exactly one deferred send
    throttle.close()


async def test_sends_are_spaced_by_the_interval_and_every_request_is_served() -> None:
    loop = asyncio.get_running_loop()
    sends: list[float] = []
    requests: list[float] = []
    throttle = KeyframeThrottle(lambda: sends.append(loop.time()), interval=0.04)

    for _ in range(15):  # a request every ~10 ms for a while
        requests.append(loop.time())
        throttle.request()
        await asyncio.sleep(0.01)
    await wait_for(lambda: throttle._deferred is None, timeout=5)

    assert len(sends) >= 2
    assert all(b - a >= 0.04 - TOLERANCE for a, b in zip(sends, sends[1:], strict=False))
    assert sends[-1] >= requests[-1]  # the last request was not lost
    throttle.close()


async def test_close_cancels_a_deferred_request() -> None:
    sent: list[int] = []
    throttle = KeyframeThrottle(lambda: sent.append(1), interval=60)
    throttle.request()
    throttle.request()
    handle = throttle._deferred
    assert handle is not None

    throttle.close()

    assert handle.cancelled()
    assert sent == [1]
