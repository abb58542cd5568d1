"""Media workers: the fan-out data plane spread over processes (see media/workers/WORKERS.md)."""

from .pool import WorkerPool, WorkerProcess

__all__ = ["WorkerPool", "WorkerProcess"]
