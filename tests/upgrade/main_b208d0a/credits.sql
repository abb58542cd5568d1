BEGIN TRANSACTION;
CREATE TABLE attendance_excuses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    lesson TEXT NOT NULL,
    student TEXT NOT NULL,
    classroom TEXT NOT NULL,
    starts REAL,
    ends REAL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    author_school TEXT NOT NULL,
    at REAL NOT NULL,
    UNIQUE (lesson, key)
);
INSERT INTO "attendance_excuses" VALUES(1,'e-1','L1','SW-0002','',NULL,NULL,'ill','admin:west','west',1780000101.0);
CREATE TABLE attendance_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    lesson TEXT NOT NULL,
    student TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    author_school TEXT NOT NULL,
    at REAL NOT NULL,
    UNIQUE (lesson, key)
);
INSERT INTO "attendance_overrides" VALUES(1,'o-1','L1','SW-0001','present','camera broke','admin:east','east',1780000100.0);
CREATE TABLE classrooms (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL REFERENCES schools (id),
    name TEXT NOT NULL,
    UNIQUE (id, school)
);
INSERT INTO "classrooms" VALUES('east-1','east','Workshop 1');
INSERT INTO "classrooms" VALUES('west-1','west','Workshop W');
CREATE TABLE courses (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL REFERENCES schools (id),
    title TEXT NOT NULL,
    credits_centi INTEGER NOT NULL CHECK (credits_centi > 0 AND credits_centi <= 2000)
);
INSERT INTO "courses" VALUES('mould','east','Moulding',150);
CREATE TABLE enrolments (
    course TEXT NOT NULL REFERENCES courses (id),
    student TEXT NOT NULL REFERENCES students (code),
    PRIMARY KEY (course, student)
);
INSERT INTO "enrolments" VALUES('mould','SW-0001');
INSERT INTO "enrolments" VALUES('mould','SW-0002');
CREATE TABLE ledger_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
INSERT INTO "ledger_checkpoints" VALUES(2,'199a7ae47d1d00294b1b1408e554833aa5e1c039b86312ac737146b5f6a3ae12','2026-05-28T20:26:40.000000Z','15d2c00a24d2297e','ZjMcmdWii+xwfXm9Cms/uKSlE09SYdUpnjX5/7UxAysbbb1/iG0hgVMYsOSbEEU6GVcxhP7pHQA0/88tFHlEBg==');
CREATE TABLE ledger_entries (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    student TEXT NOT NULL,
    school TEXT NOT NULL,
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    amount BIGINT NOT NULL,
    ref INTEGER,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO "ledger_entries" VALUES(1,'earned:L1:SW-0001:1','2026-05-28T20:26:40.000000Z','earned','SW-0001','east','mould','L1',150,NULL,'system','','{}','0000000000000000000000000000000000000000000000000000000000000000','d24a8131434dcd3b8c67ffb33ea716b7536f1f4f150e95d9b728074e5f3c2e31');
INSERT INTO "ledger_entries" VALUES(2,'earned:L1:SW-0002:1','2026-05-28T20:26:40.000000Z','earned','SW-0002','east','mould','L1',150,NULL,'system','','{}','d24a8131434dcd3b8c67ffb33ea716b7536f1f4f150e95d9b728074e5f3c2e31','199a7ae47d1d00294b1b1408e554833aa5e1c039b86312ac737146b5f6a3ae12');
CREATE TABLE lesson_postings (
    lesson TEXT PRIMARY KEY,
    policy TEXT NOT NULL,
    at TEXT NOT NULL
);
INSERT INTO "lesson_postings" VALUES('L1','v1','2026-05-28T20:26:40.000000Z');
CREATE TABLE presence_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    lesson TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    classroom TEXT NOT NULL,
    session TEXT NOT NULL,
    student TEXT NOT NULL,
    source TEXT NOT NULL,
    rollcall TEXT NOT NULL,
    author TEXT NOT NULL
);
INSERT INTO "presence_events" VALUES(1,'k-join','L1','classroom.join',1780000020.0,'east-1','s1','','','','classroom:east-1');
INSERT INTO "presence_events" VALUES(2,'k-in','L1','student.checkin',1780000021.0,'east-1','s1','SW-0001','code','','classroom:east-1');
CREATE TABLE presence_requests (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL
);
INSERT INTO "presence_requests" VALUES('req-1','digest-1');
CREATE TABLE recognition_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    home_school TEXT NOT NULL,
    lesson_school TEXT NOT NULL,
    course TEXT NOT NULL,
    home_course TEXT NOT NULL,
    factor_pct INTEGER NOT NULL,
    author TEXT NOT NULL,
    at REAL NOT NULL
);
INSERT INTO "recognition_rules" VALUES(1,'west','east','mould','weld',50,'admin:west',1780000102.0);
CREATE TABLE recognitions (
    earned_seq INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    home_school TEXT NOT NULL,
    lesson_school TEXT NOT NULL,
    course TEXT NOT NULL,
    lesson TEXT NOT NULL,
    amount INTEGER NOT NULL,
    at TEXT NOT NULL
);
INSERT INTO "recognitions" VALUES(2,'SW-0002','west','east','mould','L1',150,'2026-05-28T20:26:40.000000Z');
CREATE TABLE schools (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT
);
INSERT INTO "schools" VALUES('east','East College','north');
INSERT INTO "schools" VALUES('west','West College',NULL);
CREATE TABLE students (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    school TEXT NOT NULL REFERENCES schools (id),
    classroom TEXT NOT NULL,
    FOREIGN KEY (classroom, school) REFERENCES classrooms (id, school)
);
INSERT INTO "students" VALUES('SW-0001','Ana','east','east-1');
INSERT INTO "students" VALUES('SW-0002','Ben','west','west-1');
CREATE INDEX students_by_school ON students (school, classroom);
CREATE INDEX enrolments_by_student ON enrolments (student);
CREATE INDEX presence_events_by_lesson ON presence_events (lesson, id);
CREATE INDEX presence_events_by_student ON presence_events (student, lesson);
CREATE INDEX attendance_overrides_by_lesson ON attendance_overrides (lesson, id);
CREATE INDEX attendance_excuses_by_lesson ON attendance_excuses (lesson, id);
CREATE INDEX ledger_entries_student ON ledger_entries (student, seq);
CREATE INDEX ledger_entries_school ON ledger_entries (school, seq);
CREATE INDEX ledger_entries_ref ON ledger_entries (ref);
CREATE INDEX recognitions_by_home ON recognitions (home_school, earned_seq);
CREATE INDEX recognitions_by_lesson_school ON recognitions (lesson_school, earned_seq);
CREATE INDEX recognition_rules_by_key ON recognition_rules (home_school, lesson_school, course, id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('presence_events',2);
INSERT INTO "sqlite_sequence" VALUES('attendance_overrides',1);
INSERT INTO "sqlite_sequence" VALUES('attendance_excuses',1);
INSERT INTO "sqlite_sequence" VALUES('recognition_rules',1);
COMMIT;
