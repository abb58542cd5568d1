"""The components of a running server: everything its routes need, built by the app factory
(``server.edge.app``) and published on ``app.state``; routes reach them through ``server.edge.route_context``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from server.attendance.service import Attendance
from server.credits.bank import CreditBank
from server.directory.service import Directory
from server.edge.database import Database
from server.edge.metrics.http_counts import RequestKey
from server.edge.metrics.loop_lag import LoopLag
from server.edge.metrics.node_snapshot import NodeSources
from server.edge.settings import Settings
from server.edge.tokens import TokenCodec
from server.ledger.publication import LedgerPublication
from server.ledger.trust import TrustedHead
from server.lessons.service import Lessons
from server.lessons.store import LessonStore
from server.live.channel.rooms import Rooms
from server.live.sessions import LiveMedia
from server.live.turn_credentials import TurnIssuer
from server.presence.connections import ClassroomConnections
from server.presence.log import PresenceLog
from server.presence.service import Presence
from server.replay.live_recordings import LiveRecordings
from server.replay.service import Replay
from server.replay.store import RecordingStore
from server.replay.timeline import LessonTimeline
from server.training.event_log import SqlEventLog

__all__ = ["Components"]


@dataclass(frozen=True)
class Components:
    """Everything the routes need; each field is published as ``app.state.<field>``."""

    settings: Settings
    tokens: TokenCodec
    store: LessonStore
    lessons: Lessons
    live_media: LiveMedia
    rooms: Rooms
    training_log: SqlEventLog
    recordings: RecordingStore
    lesson_timeline: LessonTimeline
    replay: Replay
    live_recordings: LiveRecordings
    credits_db: Database
    directory: Directory
    presence_log: PresenceLog
    connections: ClassroomConnections
    presence: Presence
    attendance: Attendance
    bank: CreditBank
    trusted_head: TrustedHead
    ledger_publication: LedgerPublication
    loop_lag: LoopLag
    http_requests: Counter[RequestKey]
    metrics: NodeSources
    turn: TurnIssuer | None = None
    """Issues TURN credentials to clients when TURN is configured (``Settings.turn_urls``)."""
