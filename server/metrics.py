"""Prometheus metrics at ``GET /metrics`` (text exposition format, prometheus_client).

Each app has its own registry; values are read from the components when scraped, so nothing on
a hot path updates a metric. Scrapes need an admin token not scoped to one lesson (Prometheus:
``authorization: {credentials: <token>}``).

- ``classroom_ledger_refusals_total``: writes refused because the ledger did not follow from the
  checkpoint this node trusts (rewritten or rolled back); anything above 0 needs an admin now;
- ``classroom_ledger_trusted_seq``: the seq of the newest checkpoint this node signed and saw committed;
- ``classroom_lessons_live``, ``classroom_participants``: lesson rooms open and their connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from classroom.access import is_node_reader
from server.auth import authenticate, require

__all__ = ["NodeCollector", "Readings", "registry_for", "routes"]

Readings = Callable[[], dict[str, float]]
"""Reads the current values: ``ledger_refusals``, ``ledger_trusted_seq``, ``lessons_live``, ``participants``."""


class NodeCollector(Collector):
    def __init__(self, read: Readings) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        values = self._read()
        yield CounterMetricFamily("classroom_ledger_refusals", "Writes refused because the ledger did not follow "
                                  "from the checkpoint this node trusts", value=values["ledger_refusals"])
        yield GaugeMetricFamily("classroom_ledger_trusted_seq", "Seq of the newest checkpoint this node signed "
                                "and saw committed", value=values["ledger_trusted_seq"])
        yield GaugeMetricFamily("classroom_lessons_live", "Lesson rooms open", value=values["lessons_live"])
        yield GaugeMetricFamily("classroom_participants", "Lesson-channel connections",
                                value=values["participants"])


def registry_for(read: Readings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(read))
    return registry


async def metrics(request: Request) -> Response:
    claims = authenticate(request, request.app.state.tokens)
    require(is_node_reader(claims), "metrics are read with an admin token not scoped to one lesson")
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


routes: list[BaseRoute] = [Route("/metrics", metrics, methods=["GET"], name="metrics")]
