"""The components of a running server: everything its routes need, built by the app factory
(``server.app``) and published on ``app.state``; routes reach them through ``server.routes.context``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from server.attendance.service import Attendance
from server.credits.bank import CreditBank
from server.directory.service import Directory
from server.http_metrics import RequestKey
from server.ledger.publication import LedgerPublication
from server.ledger.trust import TrustedHead
from server.lesson_store import LessonStore
from server.lesson_timeline import LessonTimeline
from server.lessons_service import Lessons
from server.live_media import LiveMedia
from server.live_recordings import LiveRecordings
from server.loop_lag import LoopLag
from server.node_snapshot import NodeSources
from server.presence.connections import ClassroomConnections
from server.presence.log import PresenceLog
from server.presence.service import Presence
from server.recording_store import RecordingStore
from server.replay_service import Replay
from server.settings import Settings
from server.sql.database import Database
from server.tokens import TokenCodec
from server.training.event_log import SqlEventLog
from server.ws.rooms import Rooms

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
