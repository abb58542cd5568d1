"""Prometheus metrics at ``GET /metrics`` (text exposition format, prometheus_client).

Each scrape reads a ``NodeSnapshot`` from the components (``server.edge.metrics.node_snapshot``) and renders
it with a fresh registry, so nothing on a hot path updates a metric: the media relay only keeps
plain integer counters. Scrapes need an admin token not scoped to one lesson (Prometheus:
``authorization: {credentials: <token>}``). ``docs/metrics.md`` has the same list as a table.

Labels are bounded: ``lesson`` (only lessons live on this node), ``kind`` (audio, video),
``role`` (the four token roles), ``method``/``route``/``status`` (route path templates, never
raw URLs). No metric is labelled per subscriber.

Counters (``_total``) never go down while the process lives; those labelled by lesson end with it.

- ``classroom_ledger_refusals_total``: writes refused because the ledger did not follow from the
  checkpoint this node trusts (rewritten or rolled back); anything above 0 needs an admin now;
- ``classroom_ledger_trusted_seq`` (gauge): seq of the newest checkpoint this node signed and saw committed;
- ``classroom_ledger_entries`` (gauge): entries in the ledger;
- ``classroom_ledger_checkpoint_age_seconds`` (gauge): time since the newest checkpoint was signed
  (absent before the first one);
- ``classroom_lessons_live`` (gauge): lesson rooms open;
- ``classroom_participants{role}`` (gauge): lesson-channel connections by token role;
- ``classroom_feeds_live{lesson,kind}`` (gauge): feeds with a publisher now;
- ``classroom_media_consumers{lesson,kind}`` (gauge): outbound copies (one per subscriber and feed);
- ``classroom_media_received_packets_total`` / ``classroom_media_received_bytes_total`` ``{lesson,kind}``:
  RTP packets and payload bytes from publishers;
- ``classroom_media_forwarded_packets_total`` / ``classroom_media_forwarded_bytes_total`` ``{lesson,kind}``:
  RTP packets and payload bytes sent to subscribers, all consumers together (``rate()`` over the
  consumers gauge gives the mean bitrate per consumer);
- ``classroom_media_nacked_packets_total{lesson,kind}``: packets subscribers asked again (RTCP NACK);
- ``classroom_media_retransmitted_packets_total{lesson,kind}``: of those, resent from history;
- ``classroom_media_keyframe_requests_received_total{lesson,kind}``: PLI and FIR from subscribers;
- ``classroom_media_keyframe_requests_sent_total{lesson,kind}``: keyframe requests sent to publishers
  (throttled);
- ``classroom_media_send_failures_total{lesson,kind}``: packets the relay could not send (transport
  not connected yet, or gone);
- ``classroom_media_consumer_loss_ratio{lesson,kind}`` (gauge histogram): the open consumers by the
  fraction lost in their subscriber's last receiver report;
- ``classroom_media_workers`` (gauge), ``classroom_media_worker_cpu_seconds_total{worker}``,
  ``classroom_media_worker_consumers{worker}`` (gauge), ``classroom_media_worker_pipe_drops_total{worker}``:
  the media worker processes, their CPU, the consumers they send for and the packets their pipe dropped;
- ``classroom_event_loop_lag_seconds`` (histogram): how late the event loop woke a 250 ms timer;
- ``classroom_event_loop_lag_last_seconds`` (gauge): the latest of those samples;
- ``process_cpu_seconds_total``, ``process_resident_memory_bytes``, ``process_open_fds`` and the other
  ``process_*`` of prometheus_client's process collector: this server process;
- ``classroom_recordings_in_progress`` (gauge): lesson recordings being written;
- ``classroom_recording_bytes_written_total``: encoded media bytes written into recording files;
- ``classroom_presence_events_ingested_total``: presence events written to the log (new keys only);
- ``classroom_http_requests_total{method,route,status}``: HTTP requests answered (WebSockets not included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from classroom.access import is_node_reader
from classroom.roles import Role
from media import RelayStats
from server.edge.auth import require
from server.edge.metrics.loop_lag import LAG_BUCKETS
from server.edge.metrics.node_snapshot import NodeSnapshot, NodeSources
from server.edge.route_context import components, principal

__all__ = ["LOSS_BUCKETS", "NodeCollector", "exposition", "routes"]

LOSS_BUCKETS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
"""Upper bounds of the consumer loss histogram's buckets (+Inf is implicit)."""

MEDIA_LABELS = ["lesson", "kind"]

RELAY_COUNTERS: tuple[tuple[str, str, Callable[[RelayStats], int]], ...] = (
    ("received_packets", "RTP packets received from publishers", lambda s: s.received_packets),
    ("received_bytes", "RTP payload bytes received from publishers", lambda s: s.received_bytes),
    ("forwarded_packets", "RTP packets sent to subscribers", lambda s: s.forwarded_packets),
    ("forwarded_bytes", "RTP payload bytes sent to subscribers", lambda s: s.forwarded_bytes),
    ("nacked_packets", "Packets subscribers asked again (NACK)", lambda s: s.nacked_packets),
    ("retransmitted_packets", "Packets resent from history after a NACK", lambda s: s.retransmitted_packets),
    ("keyframe_requests_received", "PLI and FIR from subscribers", lambda s: s.keyframe_requests_received),
    ("keyframe_requests_sent", "Keyframe requests sent to publishers", lambda s: s.keyframe_requests_sent),
    ("send_failures", "Packets the relay could not send", lambda s: s.send_failures),
)
"""name (after ``classroom_media_``), help, value: the relay's counters."""


class NodeCollector(Collector):
    """Renders one snapshot."""

    def __init__(self, snapshot: NodeSnapshot) -> None:
        self._s = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from self._ledger()
        yield from self._lessons()
        yield from self._relay()
        yield self._loss()
        yield from self._loop_lag()
        yield from self._workers()
        yield from self._edge()

    def _ledger(self) -> Iterator[Metric]:
        s = self._s
        yield CounterMetricFamily("classroom_ledger_refusals", "Writes refused because the ledger did not follow "
                                  "from the checkpoint this node trusts", value=s.ledger_refusals)
        yield GaugeMetricFamily("classroom_ledger_trusted_seq", "Seq of the newest checkpoint this node signed "
                                "and saw committed", value=s.ledger_trusted_seq)
        yield GaugeMetricFamily("classroom_ledger_entries", "Entries in the ledger", value=s.ledger_entries)
        if s.ledger_checkpoint_age_s is not None:
            yield GaugeMetricFamily("classroom_ledger_checkpoint_age_seconds", "Time since the newest ledger "
                                    "checkpoint was signed", value=s.ledger_checkpoint_age_s)

    def _lessons(self) -> Iterator[Metric]:
        s = self._s
        yield GaugeMetricFamily("classroom_lessons_live", "Lesson rooms open", value=s.lessons_live)
        participants = GaugeMetricFamily("classroom_participants", "Lesson-channel connections", labels=["role"])
        for role in Role:
            participants.add_metric([role.value], s.participants.get(role.value, 0))
        yield participants
        feeds = GaugeMetricFamily("classroom_feeds_live", "Feeds with a publisher now", labels=MEDIA_LABELS)
        for (lesson, kind), count in sorted(s.feeds_live.items()):
            feeds.add_metric([lesson, kind], count)
        yield feeds

    def _relay(self) -> Iterator[Metric]:
        relay = sorted(self._s.relay.items())
        consumers = GaugeMetricFamily("classroom_media_consumers", "Outbound copies of feeds open now",
                                      labels=MEDIA_LABELS)
        for (lesson, kind), stats in relay:
            consumers.add_metric([lesson, kind], stats.consumers)
        yield consumers
        for name, help_text, value in RELAY_COUNTERS:
            counter = CounterMetricFamily(f"classroom_media_{name}", help_text, labels=MEDIA_LABELS)
            for (lesson, kind), stats in relay:
                counter.add_metric([lesson, kind], value(stats))
            yield counter

    def _loss(self) -> Metric:
        loss = GaugeHistogramMetricFamily("classroom_media_consumer_loss_ratio", "Open consumers by the fraction "
                                          "lost in their subscriber's last receiver report", labels=MEDIA_LABELS)
        for (lesson, kind), stats in sorted(self._s.relay.items()):
            loss.add_metric([lesson, kind], _cumulative(stats.loss, LOSS_BUCKETS), sum(stats.loss))
        return loss

    def _loop_lag(self) -> Iterator[Metric]:
        lag = self._s.loop_lag
        running = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip((*LAG_BUCKETS, float("inf")), lag.counts, strict=False):
            running += count
            buckets.append((_le(bound), running))
        yield HistogramMetricFamily("classroom_event_loop_lag_seconds", "How late the event loop woke a timer",
                                    buckets=buckets, sum_value=lag.total)
        yield GaugeMetricFamily("classroom_event_loop_lag_last_seconds", "The latest event-loop lag sample",
                                value=lag.last)

    def _workers(self) -> Iterator[Metric]:
        workers = sorted(self._s.workers.items())
        yield GaugeMetricFamily("classroom_media_workers", "Media worker processes running",
                                value=sum(1 for _, w in workers if w.alive))
        cpu = CounterMetricFamily("classroom_media_worker_cpu_seconds", "CPU time (user + system) of a media "
                                  "worker process", labels=["worker"])
        consumers = GaugeMetricFamily("classroom_media_worker_consumers", "Consumers a media worker sends for",
                                      labels=["worker"])
        drops = CounterMetricFamily("classroom_media_worker_pipe_drops", "Packets the pipe to a media worker "
                                    "could not take", labels=["worker"])
        for index, w in workers:
            if w.alive:
                cpu.add_metric([str(index)], w.cpu_seconds)
                consumers.add_metric([str(index)], w.consumers)
                drops.add_metric([str(index)], w.pipe_drops)
        yield cpu
        yield consumers
        yield drops

    def _edge(self) -> Iterator[Metric]:
        s = self._s
        yield GaugeMetricFamily("classroom_recordings_in_progress", "Lesson recordings being written",
                                value=s.recordings_in_progress)
        yield CounterMetricFamily("classroom_recording_bytes_written", "Encoded media bytes written into "
                                  "recording files", value=s.recording_bytes_written)
        yield CounterMetricFamily("classroom_presence_events_ingested", "Presence events written to the log",
                                  value=s.presence_events_ingested)
        requests = CounterMetricFamily("classroom_http_requests", "HTTP requests answered",
                                       labels=["method", "route", "status"])
        for key, count in sorted(s.http_requests.items()):
            requests.add_metric(list(key), count)
        yield requests


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _cumulative(values: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    buckets = [(_le(bound), float(sum(1 for v in values if v <= bound))) for bound in bounds]
    return [*buckets, ("+Inf", float(len(values)))]


def exposition(snapshot: NodeSnapshot) -> bytes:
    """The text exposition of ``snapshot`` and of this process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(snapshot))
    ProcessCollector(registry=registry)
    return generate_latest(registry)


async def metrics(request: Request) -> Response:
    claims = principal(request)
    require(is_node_reader(claims), "metrics are read with an admin token not scoped to one lesson")
    sources: NodeSources = components(request).metrics
    return Response(exposition(await sources.snapshot()), media_type=CONTENT_TYPE_LATEST)


routes: list[BaseRoute] = [Route("/metrics", metrics, methods=["GET"], name="metrics")]
