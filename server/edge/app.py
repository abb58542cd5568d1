"""The app factory: the composition root of the HTTP server.

To add a feature:
- routes: append its module's ``routes`` list to ``ROUTE_LISTS``; a route takes the caller and
  the components from ``server.edge.route_context`` (``principal(request)``, ``components(request)``);
- a component with a lifetime (media engine, bus, another store): build it in ``_components``,
  add it as a field of ``Components`` (``server.edge.components``; routes then reach it as
  ``components(request).<field>``), and open/close it in ``_lifespan`` (closed in reverse order
  of opening).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from classroom.checkin_codes import CheckinCodes
from media import MediaConfig, MediaEngine
from server.attendance import routes as attendance_routes
from server.attendance.service import Attendance
from server.attendance.store import ATTENDANCE_SCHEMA
from server.credits import routes as credits_routes
from server.credits.bank import CreditBank
from server.credits.replay_reach import ReplayReach
from server.credits.tables import CREDITS_SCHEMA
from server.directory import routes as directory_routes
from server.directory.service import Directory
from server.directory.store import DIRECTORY_SCHEMA, DirectoryStore
from server.edge.components import Components
from server.edge.database import Database, Schema, open_database
from server.edge.errors import exception_handlers
from server.edge.metrics import exposition as metrics_routes
from server.edge.metrics.http_counts import HttpCounts, RequestKey
from server.edge.metrics.loop_lag import LoopLag
from server.edge.metrics.node_snapshot import NodeSources
from server.edge.node_id import load_or_create_node_id
from server.edge.openapi import document as openapi_routes
from server.edge.secret import load_or_create_secret
from server.edge.settings import Settings
from server.edge.tokens import TokenCodec
from server.edge.web import routes as web_routes
from server.ledger import routes as ledger_routes
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.publication import LedgerPublication
from server.ledger.store import CREDITS_DB_FILE, LEDGER_SCHEMA
from server.ledger.trust import TrustedHead
from server.lessons import routes as lessons_routes
from server.lessons.service import Lessons
from server.lessons.store import LESSONS_SCHEMA, SqlLessonStore
from server.live import ice_routes
from server.live import routes as whip_routes
from server.live.channel import endpoint as ws_routes
from server.live.channel.rooms import Rooms
from server.live.session_slots import SessionLimits
from server.live.sessions import LiveMedia
from server.live.turn_credentials import TurnIssuer
from server.presence import routes as presence_routes
from server.presence.connections import ClassroomConnections
from server.presence.log import PRESENCE_SCHEMA, PresenceLog
from server.presence.service import Presence
from server.replay import routes as recordings_routes
from server.replay.live_recordings import LiveRecordings
from server.replay.service import Replay
from server.replay.store import RECORDINGS_SCHEMA, SqlRecordingStore
from server.replay.timeline import LessonTimeline
from server.training.event_log import TRAINING_SCHEMA, SqlEventLog

__all__ = ["DB_FILE", "ROUTE_LISTS", "Components", "create_app"]

log = logging.getLogger(__name__)

DB_FILE = "classroom.db"
TRAINING_LOG_FILE = "training.db"
RECORDINGS_DB_FILE = "recordings.db"
RECORDINGS_DIR = "recordings"
"""Media files of recordings, under the data dir; a Track's ``file`` is relative to it."""

CREDITS_SCHEMA_SQL = (DIRECTORY_SCHEMA, PRESENCE_SCHEMA, ATTENDANCE_SCHEMA, LEDGER_SCHEMA, CREDITS_SCHEMA)
"""The capabilities sharing the credit database (the bank posts from attendance to the ledger in one
transaction)."""

ROUTE_LISTS: tuple[Sequence[BaseRoute], ...] = (
    lessons_routes.routes, whip_routes.routes, ice_routes.routes, ws_routes.routes, recordings_routes.routes,
    directory_routes.routes, presence_routes.routes, attendance_routes.routes, credits_routes.routes,
    ledger_routes.routes, metrics_routes.routes, openapi_routes.routes)
"""Every route list served by the app, in matching order."""


def _database(settings: Settings, file: str, schema: Schema, name: str) -> Database:
    """A store's database: the SQLite ``file`` in the data dir, or PostgreSQL when a URL is set
    (every store in the one namespace; each has its own connections)."""
    return open_database(settings.database_url, settings.data_dir / file, schema, name=name,
                         namespace=settings.database_schema)


def _components(settings: Settings, clock: Callable[[], float]) -> Components:
    """Build (but do not start) the components from the settings."""
    store = SqlLessonStore(_database(settings, DB_FILE, LESSONS_SCHEMA, "lessons-db"))
    credits_db = _database(settings, CREDITS_DB_FILE, CREDITS_SCHEMA_SQL, "credits-db")
    directory_store = DirectoryStore(credits_db)
    people = directory_store
    lessons = Lessons(store, clock=clock, course_school=people.course_school)
    engine = MediaEngine(MediaConfig(connect_timeout_s=settings.ice_connect_timeout_s,
                                     workers=settings.media_workers))
    training_log = SqlEventLog(_database(settings, TRAINING_LOG_FILE, TRAINING_SCHEMA, "training-db"))
    presence_log = PresenceLog(credits_db)
    connections = ClassroomConnections(presence_log, clock=clock)
    rooms = Rooms(engine, settings.max_on_stage, training_log, connections)
    attendance = Attendance(credits_db, presence_log, lessons, people, settings.attendance_policy, clock=clock)
    signer = CheckpointSigner.load_or_create(settings.data_dir, settings.ledger_key_path())
    trusted_head = TrustedHead(settings.ledger_trusted_path())
    signer.guard = trusted_head
    bank = CreditBank(credits_db, signer, attendance, lessons, people,
                      settings.thresholds(), clock=clock)
    lessons.on_ended.append(rooms.lesson_ended)  # rooms close before the lesson's router
    lessons.on_ended.append(bank.lesson_ended)  # after the rooms: their classrooms' leaves are in the log
    attendance.on_corrected.append(bank.lesson_ended)
    recordings = SqlRecordingStore(_database(settings, RECORDINGS_DB_FILE, RECORDINGS_SCHEMA, "recordings-db"),
                                   node=load_or_create_node_id(settings.data_dir))
    lesson_timeline = LessonTimeline(training_log.db)
    live_recordings = LiveRecordings(engine, lessons, recordings, settings.data_dir / RECORDINGS_DIR,
                                     rooms.tell_teacher)
    loop_lag, http_requests = LoopLag(), Counter[RequestKey]()
    return Components(
        settings=settings,
        tokens=TokenCodec(load_or_create_secret(settings.data_dir)),
        store=store,
        lessons=lessons,
        live_media=LiveMedia(engine, lessons, SessionLimits(settings.max_sessions_per_principal,
                                                            settings.max_sessions_per_lesson,
                                                            settings.ice_connect_timeout_s)),
        rooms=rooms,
        training_log=training_log,
        recordings=recordings,
        lesson_timeline=lesson_timeline,
        replay=Replay(recordings, lesson_timeline, store, settings.data_dir / RECORDINGS_DIR,
                      ReplayReach(credits_db)),
        live_recordings=live_recordings,
        credits_db=credits_db,
        directory=Directory(directory_store),
        presence_log=presence_log,
        connections=connections,
        presence=Presence(presence_log, lessons, people, CheckinCodes(load_or_create_secret(settings.data_dir)),
                          rooms.broadcast, clock=clock),
        attendance=attendance,
        bank=bank,
        trusted_head=trusted_head,
        ledger_publication=LedgerPublication(credits_db, signer),
        loop_lag=loop_lag,
        http_requests=http_requests,
        metrics=NodeSources(trusted_head, rooms, engine, live_recordings, presence_log, credits_db, loop_lag,
                            http_requests, clock),
        turn=_turn_issuer(settings),
    )


def _turn_issuer(settings: Settings) -> TurnIssuer | None:
    secret = settings.turn_secret()
    return TurnIssuer(settings.turn_urls, secret, settings.turn_ttl_s) if secret is not None else None


@asynccontextmanager
async def _lifespan(components: Components) -> AsyncIterator[None]:
    """Open components in order; close them in reverse order, even on failure."""
    async with AsyncExitStack() as stack:
        await components.store.open()
        stack.push_async_callback(components.store.close)
        await components.training_log.open()
        stack.push_async_callback(components.training_log.close)
        await components.recordings.open()
        stack.push_async_callback(components.recordings.close)
        interrupted = await components.recordings.mark_interrupted()  # rows left "recording" by a dead process
        await components.credits_db.open()
        stack.push_async_callback(components.credits_db.close)
        components.presence_log.start()
        stack.push_async_callback(components.presence_log.close)  # after the rooms' last leaves
        components.connections.start()
        stack.push_async_callback(components.connections.close)
        components.loop_lag.start()
        stack.push_async_callback(components.loop_lag.close)
        await components.bank.post_unposted()  # lessons whose end an earlier run did not get to post
        components.live_media.engine.start()  # media workers; closed with the engine by live_media.close
        stack.push_async_callback(components.live_media.close)
        stack.push_async_callback(components.live_recordings.close)  # files finish before routers close
        components.live_recordings.salvage_interrupted(list(interrupted))
        stack.push_async_callback(components.rooms.close)
        # Everything built so far lives as long as the process: keep it out of the cyclic GC's
        # full collections, which would otherwise stall media forwarding for tens of milliseconds.
        gc.collect()
        gc.freeze()
        log.info("server started data_dir=%s", components.settings.data_dir)
        yield
        log.info("server stopping")


def _routes() -> list[BaseRoute]:
    """The API, then the web pages and their static files (not API operations: not in ROUTE_LISTS)."""
    return [*(route for route_list in ROUTE_LISTS for route in route_list), *web_routes]


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> Starlette:
    """The Starlette app for ``settings``; components start and stop with its lifespan.

    ``clock`` is the wall clock of lessons, presence and the ledger (tests pass a settable one).
    """
    components = _components(settings, clock)
    app = Starlette(
        routes=_routes(),
        exception_handlers=dict(exception_handlers),
        middleware=[Middleware(HttpCounts, counts=components.http_requests)],
        lifespan=lambda _app: _lifespan(components),
    )
    for field in dataclasses.fields(components):
        setattr(app.state, field.name, getattr(components, field.name))
    app.state.components = components
    return app
