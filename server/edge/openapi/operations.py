"""Every REST operation the server serves, in one table: the source of ``/api/openapi.json``.

A route without an entry here (or an entry without a route) fails ``tests/openapi/test_document.py``.
Errors are listed per operation; 401 (without a valid token) and, for a body, 400/413/415 are
added by ``Operation.error_statuses``. 503 is an unreachable credit database (PostgreSQL).
"""

from __future__ import annotations

from pydantic import BaseModel

from server.edge.openapi import wire as w
from server.edge.openapi.operation import Body, Operation, Param, Reply, header, query

__all__ = ["OPERATIONS"]

_SDP = {"type": "string", "pattern": "^v=0"}
_CSV = {"type": "string"}
_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}
_FLAG = {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no"]}
_WHOLE = {"type": "string", "pattern": "^[0-9]{1,12}$"}
_IDEMPOTENCY = header("Idempotency-Key", "a retry with the same key and content answers 200 and appends nothing",
                      {"type": "string", "minLength": 1, "maxLength": 100})


def _ok(model: type[BaseModel], description: str = "OK", **kwargs: object) -> Reply:
    return Reply(200, description, model, **kwargs)  # type: ignore[arg-type]


def _created(model: type[BaseModel], description: str = "created", **kwargs: object) -> Reply:
    return Reply(201, description, model, **kwargs)  # type: ignore[arg-type]


def _json(model: type[BaseModel]) -> Body:
    return Body(model)


_NO_CONTENT = Reply(204, "done; no body")
_EXISTS = "the same request was made before: nothing appended"

_LESSONS = (
    Operation("GET", "/api/health", "health", "Liveness", "lessons", (_ok(w.Health),), public=True),
    Operation("POST", "/api/lessons", "create_lesson", "Create a scheduled lesson (teachers, admins)", "lessons",
              (_created(w.Lesson, headers=("Location",)),), (403,), _json(w.LessonRequest)),
    Operation("GET", "/api/lessons", "list_lessons", "Lessons the token may see", "lessons", (_ok(w.LessonList),)),
    Operation("GET", "/api/lessons/{lesson_id}", "get_lesson", "One lesson", "lessons", (_ok(w.Lesson),),
              (403, 404)),
    Operation("POST", "/api/lessons/{lesson_id}/end", "end_lesson", "End a lesson (its teacher, its admins)",
              "lessons", (_ok(w.Lesson),), (403, 404, 409, 503)),
)

_WHIP_ERRORS = (400, 403, 404, 409, 413, 415, 429, 503)
_PREFLIGHT = Reply(204, "CORS preflight; ICE servers in Link headers", headers=("Link",))
_SESSION_CREATED = ("Location", "ETag", "Link")


def _media_session(kind: str, who: str) -> tuple[Operation, ...]:
    path, session = f"/{kind}/{{lesson_id}}", f"/{kind}/{{lesson_id}}/{{session_id}}"
    return (
        Operation("POST", path, kind, f"Start a {kind.upper()} session ({who}): SDP offer in, answer out",
                  "media", (Reply(201, "the SDP answer; Location names the session", media_type="application/sdp",
                                  schema={"type": "string"}, headers=_SESSION_CREATED),),
                  _WHIP_ERRORS, Body(media_type="application/sdp", schema=_SDP)),
        Operation("OPTIONS", path, f"{kind}_preflight", "CORS preflight", "media", (_PREFLIGHT,), public=True),
        Operation("DELETE", session, f"{kind}_end_session", f"End a {kind.upper()} session", "media",
                  (Reply(200, "the session ended"),), (403, 404)),
        Operation("PATCH", session, f"{kind}_patch_session", "Trickle ICE: not supported (405)", "media",
                  (Reply(405, "no trickle ICE: candidates are gathered before the answer"),)),
        Operation("OPTIONS", session, f"{kind}_session_preflight", "CORS preflight", "media", (_PREFLIGHT,),
                  public=True),
    )


_MEDIA = (_media_session("whip", "the lesson's teacher") + _media_session("whep", "a viewer of the lesson") + (
    Operation("GET", "/api/ice-servers", "ice_servers",
              "ICE servers for the caller's peer connections, TURN with a short-lived credential", "media",
              (_ok(w.IceServers),)),))

_SINCE = query("since", "Unix seconds or an ISO 8601 date/date-time")
_UNTIL = query("until", "Unix seconds or an ISO 8601 date/date-time (a bare date includes that day)")
_SECONDS = {"type": "number", "minimum": 0}
_RANGE = header("Range", "bytes=START-END (single, multiple or suffix ranges)")
_MEDIA_FILE = {"video/*": _BINARY, "audio/*": _BINARY}

_RECORDINGS = (
    Operation("GET", "/api/recordings", "list_recordings", "Recordings the token may replay", "recordings",
              (_ok(w.RecordingList),), (400, 403, 503),
              params=(query("lesson", "a lesson id"), query("course", "a course id"), _SINCE, _UNTIL)),
    Operation("GET", "/api/recordings/{recording_id}", "get_recording", "A recording's metadata", "recordings",
              (_ok(w.Recording),), (403, 404, 503)),
    Operation("DELETE", "/api/recordings/{recording_id}", "delete_recording", "Delete a recording (its admins)",
              "recordings", (_NO_CONTENT,), (403, 404, 409, 503)),
    Operation("GET", "/api/recordings/{recording_id}/media/{track}", "recording_media",
              "A track's media file, HTTP Range capable", "recordings",
              (Reply(200, "the whole file", media_type="video/*", schema=_BINARY, headers=("Accept-Ranges",)),
               Reply(206, "the requested ranges", media_type="video/*", schema=_BINARY, headers=("Content-Range",)),
               Reply(416, "the range is outside the file", headers=("Content-Range",))),
              (400, 403, 404, 503), params=(query("download", "1: as an attachment", _FLAG), _RANGE,
                                            query("ticket", "a media ticket: the track URLs of GET "
                                                  "/api/recordings/{id} carry one; opens this recording's "
                                                  "media only"))),
    Operation("GET", "/api/recordings/{recording_id}/timeline", "recording_timeline",
              "Events between two media times", "recordings", (_ok(w.Timeline),), (400, 403, 404, 503),
              params=(query("from", "seconds on the media clock", _SECONDS),
                      query("to", "seconds on the media clock", _SECONDS),
                      query("kinds", "comma-separated event kinds"))),
    Operation("GET", "/api/recordings/{recording_id}/state", "recording_state",
              "The training line at media time t", "recordings", (_ok(w.RecordingState),), (400, 403, 404, 503),
              params=(query("t", "seconds on the media clock", _SECONDS, required=True),)),
    Operation("POST", "/api/recordings/{recording_id}/chapters", "add_recording_chapter",
              "Add a chapter (the lesson's teacher)", "recordings", (_created(w.Chapters),), (403, 404, 503),
              _json(w.ChapterRequest)),
)

_ADMIN_READ = (400, 403, 404, 503)
_ADMIN_WRITE = (403, 404, 409, 503)
_SCHOOL_Q = query("school", "a school id (default: the token's)")

_DIRECTORY = (
    Operation("GET", "/api/schools", "list_schools", "Every school", "directory", (_ok(w.SchoolList),), (503,)),
    Operation("PUT", "/api/schools/{school_id}", "put_school", "Register or rename a school (its admins)",
              "directory", (_created(w.School, "registered", headers=("Location",)), _ok(w.School, "renamed")),
              _ADMIN_WRITE, _json(w.SchoolRequest)),
    Operation("GET", "/api/schools/{school_id}", "get_school", "One school", "directory", (_ok(w.School),),
              _ADMIN_READ),
    Operation("POST", "/api/classrooms", "add_classroom", "Add a classroom to the admin's school", "directory",
              (_created(w.Classroom),), _ADMIN_WRITE, _json(w.ClassroomRequest)),
    Operation("GET", "/api/classrooms", "list_classrooms", "Classrooms (admins, teachers)", "directory",
              (_ok(w.ClassroomList),), _ADMIN_READ, params=(_SCHOOL_Q,)),
    Operation("POST", "/api/students", "add_student", "Register a student of the admin's school", "directory",
              (_created(w.Student, headers=("Location",)),), _ADMIN_WRITE, _json(w.StudentRequest)),
    Operation("GET", "/api/students", "list_students", "A school's students (its admins)", "directory",
              (_ok(w.StudentList),), _ADMIN_READ, params=(_SCHOOL_Q, query("classroom", "a classroom id"))),
    Operation("GET", "/api/students/{code}", "get_student", "One student (themself, their admins)", "directory",
              (_ok(w.Student),), _ADMIN_READ),
    Operation("PATCH", "/api/students/{code}", "patch_student", "Rename or move a student (their admins)",
              "directory", (_ok(w.Student),), _ADMIN_WRITE, _json(w.StudentPatch)),
    Operation("POST", "/api/courses", "add_course", "Add a course taught by the admin's school", "directory",
              (_created(w.Course, headers=("Location",)),), _ADMIN_WRITE, _json(w.CourseRequest)),
    Operation("GET", "/api/courses", "list_courses", "Courses", "directory", (_ok(w.CourseList),), _ADMIN_READ,
              params=(_SCHOOL_Q,)),
    Operation("GET", "/api/courses/{course_id}", "get_course", "One course", "directory", (_ok(w.Course),),
              _ADMIN_READ),
    Operation("POST", "/api/courses/{course_id}/enrolments", "enrol", "Enrol students (all or nothing)",
              "directory", (_ok(w.Enrolled),), _ADMIN_WRITE, _json(w.EnrolRequest)),
    Operation("GET", "/api/courses/{course_id}/enrolments", "list_enrolments", "A course's students",
              "directory", (_ok(w.EnrolmentList),), _ADMIN_READ),
    Operation("DELETE", "/api/courses/{course_id}/enrolments/{code}", "unenrol", "Unenrol a student",
              "directory", (_NO_CONTENT,), (400,) + _ADMIN_WRITE),
    Operation("POST", "/api/roster", "import_roster", "Import a CSV roster of the admin's school", "directory",
              (_ok(w.RosterReport, "the report, also when every row failed"),), (403, 503),
              Body(media_type="text/csv", schema=_CSV), params=(query("dry_run", "1: check only", _FLAG),)),
)

_LIVE = (403, 404, 409, 503)

_PRESENCE = (
    Operation("GET", "/api/lessons/{lesson_id}/checkin-code", "checkin_code", "The classroom screen's code",
              "presence", (_ok(w.CheckinCode, headers=("Cache-Control",)),), _LIVE),
    Operation("POST", "/api/lessons/{lesson_id}/presence", "roster_tick", "Roster ticks by the classroom",
              "presence", (_created(w.PresenceSummary), _ok(w.PresenceSummary, _EXISTS)), _LIVE,
              _json(w.RosterRequest), params=(Param(_IDEMPOTENCY.name, "header", _IDEMPOTENCY.schema,
                                                    _IDEMPOTENCY.description, required=True),)),
    Operation("GET", "/api/lessons/{lesson_id}/presence", "presence_events", "The raw presence events",
              "presence", (_ok(w.PresenceEvents),), (403, 404, 503)),
    Operation("POST", "/api/lessons/{lesson_id}/checkin", "self_checkin", "A student's self check-in",
              "presence", (_created(w.SelfCheckin), _ok(w.SelfCheckin, _EXISTS)), _LIVE + (429,),
              _json(w.CheckinRequest)),
    Operation("POST", "/api/lessons/{lesson_id}/rollcalls", "open_rollcall", "Call the roll (the teacher)",
              "presence", (_created(w.RollcallOpened),), _LIVE),
    Operation("POST", "/api/lessons/{lesson_id}/rollcalls/{rollcall}/answers", "answer_rollcall",
              "Answer a roll call (a classroom)", "presence",
              (_created(w.RollcallAnswers), _ok(w.RollcallAnswers, _EXISTS)), _LIVE, _json(w.RollcallAnswerRequest)),
)

_READ = (403, 404, 409, 503)

_ATTENDANCE = (
    Operation("GET", "/api/lessons/{lesson_id}/attendance", "lesson_attendance", "A lesson's attendance",
              "attendance", (_ok(w.LessonAttendance),), _READ),
    Operation("GET", "/api/lessons/{lesson_id}/attendance.csv", "lesson_attendance_csv", "The same as CSV",
              "attendance", (Reply(200, "one row per student", media_type="text/csv", schema=_CSV,
                                   headers=("Content-Disposition",)),), _READ),
    Operation("GET", "/api/lessons/{lesson_id}/attendance/xapi", "lesson_attendance_xapi",
              "The same as xAPI 1.0.3 statements", "attendance",
              (_ok(w.XapiStatement, many=True, headers=("X-Experience-API-Version",)),), _READ),
    Operation("POST", "/api/lessons/{lesson_id}/attendance/overrides", "add_override",
              "Override a student's status (admins)", "attendance",
              (_created(w.OverrideRecord), _ok(w.OverrideRecord, _EXISTS)), _READ, _json(w.OverrideRequest),
              params=(_IDEMPOTENCY,)),
    Operation("POST", "/api/lessons/{lesson_id}/attendance/excuses", "add_excuse",
              "Excuse a student or a classroom's outage (admins)", "attendance",
              (_created(w.ExcuseRecord), _ok(w.ExcuseRecord, _EXISTS)), _READ, _json(w.ExcuseRequest),
              params=(_IDEMPOTENCY,)),
    Operation("GET", "/api/lessons/{lesson_id}/attendance/corrections", "corrections",
              "Every override and excuse", "attendance", (_ok(w.AttendanceCorrections),), _READ),
    Operation("GET", "/api/students/{code}/attendance", "student_attendance", "A student's attendance",
              "attendance", (_ok(w.StudentAttendanceList),), (400, 403, 404, 503)),
)

_PAGE = (query("limit", "at most this many (1-500)", _WHOLE), query("after", "only seq greater than this", _WHOLE))
_DECISION = (_created(w.Decision), _ok(w.Decision, _EXISTS))

_CREDITS = (
    Operation("GET", "/api/students/{code}/credits", "student_credits", "A student's credits and entries",
              "credits", (_ok(w.Account),), (400, 403, 404, 503)),
    Operation("GET", "/api/ledger/entries", "school_entries", "The entries in a school's books (its admins)",
              "ledger", (_ok(w.LedgerEntries),), (400, 403, 503), params=(_SCHOOL_Q, *_PAGE)),
    Operation("POST", "/api/ledger/entries/{seq}/reversal", "reverse_entry", "Reverse an entry (its admins)",
              "ledger", _DECISION, (403, 404, 409, 503), _json(w.ReversalRequest)),
    Operation("GET", "/api/ledger/checkpoint", "ledger_checkpoint", "The latest signed checkpoint", "ledger",
              (_ok(w.CheckpointAnswer),), (503,)),
    Operation("GET", "/api/recognitions", "recognitions", "Recognitions of the admin's school", "credits",
              (_ok(w.Recognitions),), (400, 403, 503),
              params=(query("status", "pending, posted, voided or reversed"), *_PAGE)),
    Operation("POST", "/api/recognitions/{seq}/{action}", "decide_recognition",
              "Post or void a pending recognition (the home school's admins)", "credits", _DECISION,
              (403, 404, 409, 503), _json(w.DecisionRequest),
              path_schemas={"action": {"type": "string", "enum": ["post", "void"]}}),
    Operation("POST", "/api/recognition-rules", "put_rule", "Add a recognition rule (admins)", "credits",
              (_created(w.Rule),), (403, 404, 409, 503), _json(w.RuleRequest)),
    Operation("GET", "/api/recognition-rules", "list_rules", "The admin's school's rules", "credits",
              (_ok(w.RuleList),), (403, 503)),
    Operation("POST", "/api/lessons/{lesson_id}/credits", "repost_lesson",
              "Post an ended lesson's credits again (its admins)", "credits", (_ok(w.Repost),),
              (403, 404, 409, 503)),
)

_SEQ = {"type": "string", "pattern": "^[0-9]{1,19}$"}

_WITNESS = (
    Operation("GET", "/api/ledger/checkpoints", "ledger_checkpoints",
              "Signed checkpoints after a seq, and the newest one (for witnesses)", "ledger",
              (_ok(w.CheckpointPage),), (400, 503),
              params=(query("since", "only checkpoints with a greater seq (default 0)", _SEQ),
                      query("limit", "at most this many (1-1000, default 100)", _SEQ))),
    Operation("GET", "/api/ledger/leaves", "ledger_leaves",
              "The entries' canonical bytes in a range: the consistency proof between two checkpoints "
              "(admins of any school with an all-lessons token)", "ledger",
              (_ok(w.Leaves),), (400, 403, 503),
              params=(query("after", "entries with a greater seq", _SEQ, required=True),
                      query("upto", "up to this seq, at most 1000 above after", _SEQ, required=True))),
    Operation("GET", "/metrics", "metrics", "Prometheus metrics (admins with an all-lessons token)", "meta",
              (Reply(200, "the text exposition format", media_type="text/plain", schema={"type": "string"}),),
              (403,)),
)

_DOCUMENT = (
    Operation("GET", "/api/openapi.json", "openapi", "This document (OpenAPI 3.1)", "meta",
              (Reply(200, "the OpenAPI document", schema={"type": "object"}),), public=True),
)

OPERATIONS: tuple[Operation, ...] = (
    _LESSONS + _MEDIA + _RECORDINGS + _DIRECTORY + _PRESENCE + _ATTENDANCE + _CREDITS + _WITNESS + _DOCUMENT
)
"""Every REST operation of the app, WebSocket channel excluded (see docs/protocol.md)."""
