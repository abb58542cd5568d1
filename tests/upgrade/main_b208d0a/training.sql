BEGIN TRANSACTION;
CREATE TABLE training_events (
    lesson_id TEXT NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO "training_events" VALUES('L1',1,1780000021.0,'snapshot',1,'{"time":0.0,"state":{"a":1},"scenario":"s","rng":1}');
INSERT INTO "training_events" VALUES('L1',2,1780000022.0,'command',1,'{"op":"start"}');
INSERT INTO "training_events" VALUES('L1',3,1780000023.0,'patch',2,'{"from":1,"to":2,"ops":[{"op":"replace","path":"/a","value":2}]}');
INSERT INTO "training_events" VALUES('L1',4,1780000024.0,'chat',0,'{"from":"alice","text":"hello"}');
INSERT INTO "training_events" VALUES('L1',5,1780000025.0,'marker',0,'{"label":"break"}');
CREATE INDEX training_events_by_lesson ON training_events (lesson_id, at);
CREATE INDEX training_events_snapshots ON training_events (lesson_id, at) WHERE kind = 'snapshot';
CREATE INDEX training_events_timeline ON training_events (lesson_id, at)
    WHERE kind NOT IN ('snapshot', 'patch');
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('training_events',5);
COMMIT;
