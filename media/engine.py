"""MediaEngine: the routers of every live lesson on this node."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiortc import RTCConfiguration, RTCIceServer

from .aiortc_adapter import check_compatible
from .router import Router
from .workers import WorkerPool

__all__ = ["MediaConfig", "MediaEngine"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaConfig:
    """Server-side peer connection settings (the ICE servers *this node* gathers with)."""

    ice_servers: tuple[RTCIceServer, ...] = field(default_factory=tuple)
    connect_timeout_s: float = 10.0
    """A peer connection that has not connected this long after its SDP exchange is closed."""
    workers: int = 0
    """Media worker processes that send subscribers' packets (media/workers/WORKERS.md); 0 or 1:
    none, every packet is sent by this process."""


class MediaEngine:
    def __init__(self, config: MediaConfig | None = None) -> None:
        check_compatible()
        self._config = config or MediaConfig()
        self.routers: dict[str, Router] = {}
        self.closed = False
        self.workers: WorkerPool | None = None

    def start(self) -> None:
        """Start the media workers, if configured (call from the running event loop)."""
        if self.workers is None and self._config.workers >= 2 and not self.closed:
            self.workers = WorkerPool(self._config.workers)
            self.workers.start()

    def router(self, lesson_id: str) -> Router:
        """The lesson's router, created on first use."""
        router = self.routers.get(lesson_id)
        if router is None or router.closed:
            configuration = RTCConfiguration(iceServers=list(self._config.ice_servers))
            router = Router(lesson_id, configuration, self._config.connect_timeout_s, self.workers)
            self.routers[lesson_id] = router
        return router

    def existing(self, lesson_id: str) -> Router | None:
        router = self.routers.get(lesson_id)
        return router if router is not None and not router.closed else None

    async def close_router(self, lesson_id: str) -> None:
        router = self.routers.pop(lesson_id, None)
        if router is not None:
            await router.close()

    async def close(self) -> None:
        self.closed = True
        for lesson_id in list(self.routers):
            await self.close_router(lesson_id)
        if self.workers is not None:
            await self.workers.close()
