"""Pydantic models of the REST API's JSON bodies: what requests send and what responses hold.

They describe the wire format for ``server.edge.openapi.document`` (JSON Schema 2020-12, which
OpenAPI 3.1 uses); the routes still parse bodies themselves. Request models forbid unknown
fields, as the server does; response models forbid undocumented ones, so a field added to a
response without a schema fails the schemathesis run (``tests/openapi``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "Account",
    "AttendanceCorrections",
    "AttendanceSummary",
    "ChapterRequest",
    "Chapters",
    "CheckinCode",
    "CheckinRequest",
    "CheckpointAnswer",
    "Classroom",
    "ClassroomList",
    "ClassroomRequest",
    "Course",
    "CourseList",
    "CourseRequest",
    "Decision",
    "DecisionRequest",
    "Enrolled",
    "EnrolmentList",
    "EnrolRequest",
    "Error",
    "ExcuseRecord",
    "ExcuseRequest",
    "Health",
    "IceServer",
    "IceServers",
    "LedgerEntries",
    "Lesson",
    "LessonAttendance",
    "LessonList",
    "LessonRequest",
    "OverrideRecord",
    "OverrideRequest",
    "PresenceEvents",
    "PresenceSummary",
    "Recognitions",
    "Recording",
    "RecordingList",
    "RecordingState",
    "Repost",
    "ReversalRequest",
    "RollcallAnswerRequest",
    "RollcallAnswers",
    "RollcallOpened",
    "RosterReport",
    "RosterRequest",
    "Rule",
    "RuleList",
    "RuleRequest",
    "School",
    "SchoolList",
    "SchoolRequest",
    "SelfCheckin",
    "Student",
    "StudentAttendanceList",
    "StudentList",
    "StudentPatch",
    "StudentRequest",
    "Timeline",
    "XapiStatement",
]

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="1-64 of A-Z a-z 0-9 . _ -")]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{6,32}$", description="a skill-worker code (stored upper case)")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
CreditText = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", description='exact credits, e.g. "1.50"')]
Status = Literal["present", "late", "left_early", "absent", "excused"]
Scalar = str | int | float | bool | None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _absent() -> Any:
    """An optional field that must not be null when given."""
    return Field(default=None, json_schema_extra=_no_default)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Response):
    """Every error: a stable machine ``code`` and a human ``message``."""

    class ErrorDetail(_Response):
        code: str
        message: str

    error: ErrorDetail


class Health(_Response):
    status: Literal["ok"]


class IceServer(_Response):
    """One RTCIceServer; TURN entries carry a credential issued for the caller (coturn REST scheme)."""

    urls: str
    username: str | SkipJsonSchema[None] = _absent()
    credential: str | SkipJsonSchema[None] = _absent()


class IceServers(_Response):
    """What a client puts in RTCConfiguration.iceServers, and when its TURN credential expires."""

    ice_servers: list[IceServer]
    expires_at: int | None = Field(description="unix seconds; null without TURN servers")


# --- lessons ---------------------------------------------------------------------------------


class LessonRequest(_Request):
    """A new lesson of the caller's school; admins name its teacher, teachers teach it themselves."""

    title: Title
    course: Name | None = None
    recording: bool = True
    teacher: Name | SkipJsonSchema[None] = _absent()


class Lesson(_Response):
    id: str
    title: str
    school: str
    teacher: str
    course: str | None
    state: Literal["scheduled", "live", "ended"]
    recording: bool
    created_at: float
    started_at: float | None
    ended_at: float | None


class LessonList(_Response):
    lessons: list[Lesson]


# --- directory -------------------------------------------------------------------------------


class SchoolRequest(_Request):
    name: Name
    region: Name | None = None


class School(_Response):
    id: str
    name: str
    region: str | None


class SchoolList(_Response):
    schools: list[School]


class ClassroomRequest(_Request):
    id: Id
    name: Name


class Classroom(_Response):
    id: str
    school: str
    name: str


class ClassroomList(_Response):
    classrooms: list[Classroom]


class StudentRequest(_Request):
    code: Code
    name: Name
    classroom: Id


class StudentPatch(_Request):
    """At least one field; code and school never change."""

    name: Name | SkipJsonSchema[None] = _absent()
    classroom: Id | SkipJsonSchema[None] = _absent()


class Student(_Response):
    code: str
    name: str
    school: str
    classroom: str


class StudentList(_Response):
    students: list[Student]


class CourseRequest(_Request):
    id: Id
    title: Title
    credits: Annotated[str, Field(pattern=r"^[0-9]{1,2}(\.[0-9]{1,2})?$")] | Annotated[
        float, Field(gt=0, le=20, multiple_of=0.01)
    ] = Field(description="credits per lesson attended: 0 < credits <= 20, at most 2 decimals")


class Course(_Response):
    id: str
    school: str
    title: str
    credits: CreditText
    credits_centi: int


class CourseList(_Response):
    courses: list[Course]


class EnrolRequest(_Request):
    students: list[Code] = Field(min_length=1, max_length=1000)


class Enrolled(_Response):
    course: str
    enrolled: list[str]
    already_enrolled: list[str]


class EnrolmentList(_Response):
    course: str
    students: list[Student]


class RosterReport(_Response):
    class RosterRowError(_Response):
        row: int
        code: str
        field: Literal["code", "name", "classroom", "course", "row"]
        message: str

    created: int
    updated: int
    enrolled: int
    errors: list[RosterRowError]
    dry_run: bool


# --- presence --------------------------------------------------------------------------------


class CheckinCode(_Response):
    lesson: str
    classroom: str
    code: str
    valid_until: float
    refresh_at: float


class RosterRequest(_Request):
    checked_in: list[Code] = Field(default=[], max_length=200)
    checked_out: list[Code] = Field(default=[], max_length=200)


class PresenceSummary(_Response):
    class PresenceItem(_Response):
        kind: str
        student: str
        result: Literal["created", "exists"]

    created: int
    exists: int
    events: list[PresenceItem]


class CheckinRequest(_Request):
    classroom: Id
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class SelfCheckin(_Response):
    lesson: str
    classroom: str
    student: str
    result: Literal["created", "exists"]
    at: float


class RollcallOpened(_Response):
    lesson: str
    rollcall: str
    opened_at: float
    answer_by: float
    classrooms_told: int


class RollcallAnswerRequest(_Request):
    present: list[Code] = Field(max_length=200)


class RollcallAnswers(PresenceSummary):
    rollcall: str


class PresenceEvents(_Response):
    class PresenceEvent(_Response):
        lesson: str
        kind: str
        at: float
        classroom: str
        session: str
        student: str
        source: str
        rollcall: str
        key: str

    events: list[PresenceEvent]


# --- attendance ------------------------------------------------------------------------------


class Interval(_Response):
    start: float
    end: float


class _Counted(_Response):
    intervals: list[Interval]
    seconds: float
    minutes: float
    share: float


class ClassroomAttendance(_Counted):
    classroom: str
    sessions: int


class StudentAttendance(_Counted):
    student: str
    classrooms: list[str]
    status: Status
    late: bool
    left_early: bool
    credit: bool
    computed_status: Status
    override_reason: str
    override_author: str
    roster_classroom: str


class LessonStudentAttendance(StudentAttendance):
    school: str


class LessonAttendance(_Response):
    lesson: str
    title: str
    course: str | None
    school: str
    policy_version: str
    window: Interval
    window_seconds: float
    window_minutes: float
    classrooms: list[ClassroomAttendance]
    students: list[LessonStudentAttendance]


class AttendanceSummary(StudentAttendance):
    """One lesson of a student's attendance."""

    lesson: str
    title: str
    course: str | None
    school: str


class StudentAttendanceList(_Response):
    student: str
    lessons: list[AttendanceSummary]


class XapiStatement(BaseModel):
    """An xAPI 1.0.3 statement (``attended``, or ``completed`` when the attendance earned credit)."""

    id: str
    actor: dict[str, Any]
    verb: dict[str, Any]
    object: dict[str, Any]
    result: dict[str, Any]
    context: dict[str, Any]
    timestamp: str


class OverrideRequest(_Request):
    student: Code
    status: Status
    reason: Reason


class ExcuseRequest(_Request):
    """Either ``student`` (the whole lesson) or ``classroom`` with ``start`` < ``end`` (an outage)."""

    reason: Reason
    student: Code | SkipJsonSchema[None] = _absent()
    classroom: Id | SkipJsonSchema[None] = _absent()
    start: float | SkipJsonSchema[None] = _absent()
    end: float | SkipJsonSchema[None] = _absent()


class OverrideRecord(_Response):
    id: int
    lesson: str
    student: str
    status: Status
    reason: str
    author: str
    author_school: str
    at: float


class ExcuseRecord(_Response):
    id: int
    lesson: str
    student: str | None
    classroom: str | None
    start: float | None
    end: float | None
    reason: str
    author: str
    author_school: str
    at: float


class AttendanceCorrections(_Response):
    overrides: list[OverrideRecord]
    excuses: list[ExcuseRecord]


# --- credits and the ledger ------------------------------------------------------------------


class Entry(_Response):
    seq: int
    at: str
    key: str
    kind: Literal["earned", "recognised", "recognition_voided", "reversal", "level_change"]
    student: str
    school: str
    course: str
    lesson: str
    amount: int
    credits: CreditText
    ref: int | None
    author: str
    reason: str
    detail: dict[str, Scalar]
    prev_hash: str
    hash: str


class Account(_Response):
    """A student's credits; another school's admin sees only its own books (no level or pending)."""

    student: str
    earned: CreditText
    recognised: CreditText
    pending: CreditText | None
    level: str | None
    home_school: str | None
    complete: bool
    thresholds: dict[str, CreditText]
    entries: list[Entry]


class LedgerEntries(_Response):
    school: str
    entries: list[Entry]


class ReversalRequest(_Request):
    reason: Reason


class DecisionRequest(_Request):
    """A reason is required to void, optional to post."""

    reason: Reason | SkipJsonSchema[None] = _absent()


class Decision(_Response):
    entries: list[Entry]
    result: Literal["created", "exists"]


class Recognitions(_Response):
    class Recognition(_Response):
        earned_seq: int
        student: str
        home_school: str
        lesson_school: str
        course: str
        lesson: str
        credits: CreditText
        at: str
        status: Literal["pending", "posted", "voided", "reversed"]
        decided_by: int | None

    school: str
    recognitions: list[Recognition]


class RuleRequest(_Request):
    lesson_school: Id
    course: Id
    home_course: Id
    factor_pct: int = Field(default=100, ge=1, le=200)


class Rule(_Response):
    home_school: str
    lesson_school: str
    course: str
    home_course: str
    factor_pct: int


class RuleList(_Response):
    rules: list[Rule]


class CheckpointAnswer(_Response):
    class Checkpoint(_Response):
        seq: int
        hash: str
        at: str
        key_id: str
        signature: str

    checkpoint: Checkpoint | None
    public_key: str | None


class CheckpointPage(_Response):
    checkpoints: list[CheckpointAnswer.Checkpoint]
    latest: CheckpointAnswer.Checkpoint | None
    key_id: str | None
    public_key: str | None


class Leaves(_Response):
    class Leaf(_Response):
        seq: int
        leaf: str | None
        """the entry's canonical bytes (UTF-8 text); null when the stored row cannot be encoded"""

    after: int
    upto: int
    head_seq: int
    leaves: list[Leaf]


class Repost(_Response):
    lesson: str
    created: list[Entry]
    existing: int


# --- recordings ------------------------------------------------------------------------------


class Recording(_Response):
    class RecordingTrack(_Response):
        name: str
        kind: Literal["video", "audio"]
        codec: str
        width: int | None
        height: int | None
        url: str
        """the media route; from ``GET /api/recordings/{id}`` with a media ticket (``?ticket=``)"""
        muxed_with: str | None
        """another track in the same file (the teacher's camera and microphone), else null"""

    id: str
    lesson_id: str
    school: str
    course: str | None
    title: str
    started_at: float
    ended_at: float | None
    duration_s: float | None
    status: Literal["recording", "complete", "interrupted", "stopped_disk_low"]
    tracks: list[RecordingTrack]
    chapters: list[Chapter]
    download_url: str | None


class Chapter(_Response):
    at_s: float
    title: str
    by: str


class RecordingList(_Response):
    recordings: list[Recording]


class Timeline(_Response):
    class TimelineEvent(BaseModel):
        """``t`` on the media clock, ``kind``, and the event's own fields."""

        t: float
        kind: str

    recording: str
    from_: float = Field(alias="from")
    to: float | None
    events: list[TimelineEvent]
    truncated: bool


class RecordingState(_Response):
    t: float
    revision: int | None
    state: dict[str, Any] | None


class ChapterRequest(_Request):
    at_s: float = Field(ge=0)
    title: Title | SkipJsonSchema[None] = _absent()


class Chapters(_Response):
    chapters: list[Chapter]


Recording.model_rebuild()
