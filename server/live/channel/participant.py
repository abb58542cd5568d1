"""One participant's connection to a lesson: its socket writer, publisher and subscriber transports.

Tasks are owned: the writer and the subscription reconciler are started here
and cancelled and awaited in ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from starlette.websockets import WebSocket

from classroom.access import Claims
from classroom.feeds import feed_owner, participant_prefix
from classroom.roles import Role
from media import Consumer, Router, SdpError, Transport
from server.edge.wire_json import dumps

__all__ = ["Participant"]

log = logging.getLogger(__name__)

OUTBOX = 256  # messages queued for a slow client before it is disconnected
FLUSH_S = 1.0  # how long close() lets queued messages drain
_END: dict[str, Any] = {}


class Participant:
    def __init__(self, websocket: WebSocket, claims: Claims, router: Router) -> None:
        self.websocket = websocket
        self.claims = claims
        self.principal = claims.principal
        self.subject = claims.subject
        self.role = claims.role
        self.session = secrets.token_hex(8)
        """This connection's id (a reconnect is a new session)."""
        self.prefix = participant_prefix(claims.subject, claims.role is Role.TEACHER)
        self.router = router
        self.publisher: Transport | None = None
        self.subscriber: Transport | None = None
        self.slots: list[Consumer] = []
        self.video_enabled = True
        self.closed = False
        self._outbox: asyncio.Queue[dict[str, Any] | str] = asyncio.Queue(OUTBOX)
        self._dropped = False
        self._reconcile = asyncio.Event()
        self._negotiating = False
        self._tasks = [asyncio.ensure_future(self._write()), asyncio.ensure_future(self._reconcile_loop())]
        self._unsubscribe = router.on_feeds_changed(self.feeds_changed)

    def describe(self) -> dict[str, str]:
        return self.principal.to_json()

    # --- outbound messages ---------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message (encoded here: a non-finite number raises ValueError, never reaches the client);
        a client too slow to drain its queue is disconnected."""
        self._queue_item(dumps(message))

    def _queue_item(self, item: dict[str, Any] | str) -> None:
        if self.closed or self._dropped:
            return
        try:
            self._outbox.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("slow client dropped lesson=%s principal=%s", self.router.id, self.principal)
            self._dropped = True
            self._tasks[0].cancel()  # the writer may be stuck in a send to this client: stop writing
            self._tasks.append(asyncio.ensure_future(self._hang_up()))

    def send_text(self, text: str) -> None:
        """Queue a message already encoded as JSON (one encoding for many recipients)."""
        self._queue_item(text)

    async def _hang_up(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(code=1008, reason="too slow"), FLUSH_S)

    async def _write(self) -> None:
        while True:
            message = await self._outbox.get()
            if message is _END:
                return
            if isinstance(message, str):
                await self.websocket.send_text(message)
            else:
                await self.websocket.send_json(message)

    # --- publishing ----------------------------------------------------------------------

    async def publish(self, sdp: str, feeds: dict[str, str], restart: bool) -> str:
        """Answer a publisher offer. A restart answers on a new connection and closes the old
        one only once the new producers hold the feeds, so subscribers see no gap; a failed
        offer changes nothing (a connection opened for it is closed again)."""
        fresh = restart or self.publisher is None
        transport = self.router.create_transport(owner=f"ws-pub:{self.principal}") if fresh else self.publisher
        assert transport is not None
        kinds = {"camera": "video", "screen": "video", "mic": "audio"}

        def name_feed(kind: str, mid: str) -> str | None:
            name = feeds.get(mid)
            return f"{self.prefix}/{name}" if name is not None and kinds[name] == kind else None

        try:
            answer = await transport.accept_offer(sdp, name_feed)
        except BaseException:
            if fresh:
                await transport.close()
            raise
        previous, self.publisher = self.publisher, transport
        if previous is not None and previous is not transport:
            await previous.close()
        return answer

    async def stop_feed(self, name: str) -> bool:
        if self.publisher is None:
            return False
        for producer in list(self.publisher.producers.values()):
            if producer.feed == f"{self.prefix}/{name}":
                await producer.close()
                return True
        return False

    async def stop_publishing(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()
            self.publisher = None

    # --- subscribing ---------------------------------------------------------------------

    def feeds_changed(self) -> None:
        self._reconcile.set()

    async def accept_answer(self, sdp: str) -> None:
        if self.subscriber is None or not self._negotiating:
            raise SdpError("no subscriber offer is waiting for an answer")
        await self.subscriber.accept_answer(sdp)
        self._negotiating = False
        self._reconcile.set()

    async def restart_subscriber(self) -> None:
        if self.subscriber is not None:
            await self.subscriber.close()
        self.subscriber = None
        self.slots = []
        self._negotiating = False
        self._reconcile.set()

    def set_video(self, enabled: bool) -> None:
        self.video_enabled = enabled
        for consumer in self.slots:
            if consumer.kind == "video":
                consumer.set_paused(not enabled)

    def tracks(self) -> dict[str, str | None]:
        if self.subscriber is None:
            return {}
        return {mid: c.feed for c in self.slots if (mid := self.subscriber.mid_of(c)) is not None}

    async def _reconcile_loop(self) -> None:
        while True:
            await self._reconcile.wait()
            self._reconcile.clear()
            if self._negotiating or self.closed:
                continue
            try:
                await self._reconcile_once()
            except Exception:
                log.exception("subscription reconcile failed lesson=%s principal=%s", self.router.id,
                              self.principal)

    def _wanted(self) -> dict[str, str]:
        return {key: kind for key, kind in self.router.live_feeds().items() if feed_owner(key) != self.prefix}

    async def _reconcile_once(self) -> None:
        wanted = self._wanted()
        for consumer in self.slots:
            if consumer.feed is not None and consumer.feed not in wanted:
                self.router.feeds[consumer.feed].remove(consumer)
        assigned = {c.feed for c in self.slots if c.feed is not None}
        added = False
        for key, kind in wanted.items():
            if key in assigned:
                continue
            slot = next((c for c in self.slots if c.kind == kind and c.feed is None), None)
            if slot is None:
                slot = self._new_slot(kind)
                added = True
            self.router.feed(key, kind).add(slot)
        await self._announce(added)

    def _new_slot(self, kind: str) -> Consumer:
        if self.subscriber is None:
            self.subscriber = self.router.create_transport(owner=f"ws-sub:{self.principal}")
        consumer = self.subscriber.add_sending_slot(kind)
        if kind == "video" and not self.video_enabled:
            consumer.set_paused(True)
        self.slots.append(consumer)
        return consumer

    async def _announce(self, renegotiate: bool) -> None:
        if renegotiate and self.subscriber is not None:
            sdp = await self.subscriber.create_offer()
            self._negotiating = True
            self.send({"type": "subscribe.offer", "sdp": sdp, "tracks": self.tracks()})
        elif self.subscriber is not None:
            self.send({"type": "tracks", "tracks": self.tracks()})

    # --- lifecycle -----------------------------------------------------------------------

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._unsubscribe()
        writer = self._tasks[0]
        if not writer.done():
            with contextlib.suppress(Exception):  # a full queue, a closed socket or a stuck client: stop flushing
                self._outbox.put_nowait(_END)
                await asyncio.wait_for(asyncio.shield(writer), FLUSH_S)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in (self.publisher, self.subscriber):
            if transport is not None:
                await transport.close()
        self.publisher = self.subscriber = None
