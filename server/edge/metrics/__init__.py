"""Prometheus metrics at ``GET /metrics``: the node snapshot, loop lag and HTTP counts."""
