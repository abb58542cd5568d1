BEGIN TRANSACTION;
CREATE TABLE recordings (
    id          TEXT PRIMARY KEY,
    lesson_id   TEXT NOT NULL,
    school      TEXT NOT NULL,
    course      TEXT,
    title       TEXT NOT NULL,
    started_at  REAL NOT NULL,
    ended_at    REAL,
    status      TEXT NOT NULL,
    tracks      TEXT NOT NULL,
    chapters    TEXT NOT NULL
);
INSERT INTO "recordings" VALUES('R1','L1','east','mould','Insert moulding',1780000020.0,1780003620.0,'complete','[{"name":"teacher/camera","kind":"video","codec":"vp8","file":"R1/teacher-camera.webm","width":1280,"height":720},{"name":"teacher/mic","kind":"audio","codec":"opus","file":"R1/teacher-mic.webm","width":null,"height":null}]','[{"at_s":12.5,"title":"Clamping","by":"alice"}]');
INSERT INTO "recordings" VALUES('R2','L2','west',NULL,'Welding basics',1780000030.0,NULL,'recording','[]','[]');
CREATE INDEX recordings_by_school ON recordings (school, started_at);
CREATE INDEX recordings_by_lesson ON recordings (lesson_id, started_at);
CREATE INDEX recordings_by_status ON recordings (status);
COMMIT;
