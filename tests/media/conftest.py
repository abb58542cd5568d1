"""The fan-out implementations (media/fanout.py): tests that forward packets run with each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from media import fanout


@pytest.fixture(params=["native", "python"])
def fanout_impl(request: pytest.FixtureRequest) -> Iterator[fanout.Implementation]:
    """Consumers and feeds created during the test use this fan-out."""
    chosen = fanout.NATIVE if request.param == "native" else fanout.PYTHON
    if chosen is None:
        pytest.skip("media._fanout is not built here (pip install -e . compiles media/_fanout.c with gcc)")
    before = fanout.implementation()
    fanout.use(chosen)
    try:
        yield chosen
    finally:
        fanout.use(before)
