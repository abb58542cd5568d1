BEGIN TRANSACTION;
CREATE TABLE lessons (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    school      TEXT NOT NULL,
    teacher     TEXT NOT NULL,
    course      TEXT,
    state       TEXT NOT NULL,
    recording   INTEGER NOT NULL,
    created_at  REAL NOT NULL,
    started_at  REAL,
    ended_at    REAL
);
INSERT INTO "lessons" VALUES('L1','Insert moulding','east','alice','mould','scheduled',1,1780000000.0,NULL,NULL);
INSERT INTO "lessons" VALUES('L2','Welding basics','west','bob',NULL,'ended',0,1780000010.0,1780000020.0,1780003620.0);
CREATE INDEX lessons_by_school ON lessons (school, created_at);
COMMIT;
