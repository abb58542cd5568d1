--
-- PostgreSQL database dump
--

\restrict XITGqqU34Htsy3j1wTz9TlpsSJ0uav3YGcNJBheoZs4gPzMhoNTtZP1eTrs3Si7

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: upgrade_fixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA upgrade_fixture;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: attendance_excuses; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.attendance_excuses (
    id bigint NOT NULL,
    key text NOT NULL,
    lesson text NOT NULL,
    student text NOT NULL,
    classroom text NOT NULL,
    starts double precision,
    ends double precision,
    reason text NOT NULL,
    author text NOT NULL,
    author_school text NOT NULL,
    at double precision NOT NULL
);


--
-- Name: attendance_excuses_id_seq; Type: SEQUENCE; Schema: upgrade_fixture; Owner: -
--

CREATE SEQUENCE upgrade_fixture.attendance_excuses_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: attendance_excuses_id_seq; Type: SEQUENCE OWNED BY; Schema: upgrade_fixture; Owner: -
--

ALTER SEQUENCE upgrade_fixture.attendance_excuses_id_seq OWNED BY upgrade_fixture.attendance_excuses.id;


--
-- Name: attendance_overrides; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.attendance_overrides (
    id bigint NOT NULL,
    key text NOT NULL,
    lesson text NOT NULL,
    student text NOT NULL,
    status text NOT NULL,
    reason text NOT NULL,
    author text NOT NULL,
    author_school text NOT NULL,
    at double precision NOT NULL
);


--
-- Name: attendance_overrides_id_seq; Type: SEQUENCE; Schema: upgrade_fixture; Owner: -
--

CREATE SEQUENCE upgrade_fixture.attendance_overrides_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: attendance_overrides_id_seq; Type: SEQUENCE OWNED BY; Schema: upgrade_fixture; Owner: -
--

ALTER SEQUENCE upgrade_fixture.attendance_overrides_id_seq OWNED BY upgrade_fixture.attendance_overrides.id;


--
-- Name: classrooms; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.classrooms (
    id text NOT NULL,
    school text NOT NULL,
    name text NOT NULL
);


--
-- Name: courses; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.courses (
    id text NOT NULL,
    school text NOT NULL,
    title text NOT NULL,
    credits_centi integer NOT NULL,
    CONSTRAINT courses_credits_centi_check CHECK (((credits_centi > 0) AND (credits_centi <= 2000)))
);


--
-- Name: enrolments; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.enrolments (
    course text NOT NULL,
    student text NOT NULL
);


--
-- Name: ledger_checkpoints; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.ledger_checkpoints (
    seq integer NOT NULL,
    hash text NOT NULL,
    at text NOT NULL,
    key_id text NOT NULL,
    signature text NOT NULL
);


--
-- Name: ledger_entries; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.ledger_entries (
    seq integer NOT NULL,
    key text NOT NULL,
    at text NOT NULL,
    kind text NOT NULL,
    student text NOT NULL,
    school text NOT NULL,
    course text NOT NULL,
    lesson text NOT NULL,
    amount bigint NOT NULL,
    ref integer,
    author text NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);


--
-- Name: lesson_postings; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.lesson_postings (
    lesson text NOT NULL,
    policy text NOT NULL,
    at text NOT NULL
);


--
-- Name: presence_events; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.presence_events (
    id bigint NOT NULL,
    key text NOT NULL,
    lesson text NOT NULL,
    kind text NOT NULL,
    at double precision NOT NULL,
    classroom text NOT NULL,
    session text NOT NULL,
    student text NOT NULL,
    source text NOT NULL,
    rollcall text NOT NULL,
    author text NOT NULL
);


--
-- Name: presence_events_id_seq; Type: SEQUENCE; Schema: upgrade_fixture; Owner: -
--

CREATE SEQUENCE upgrade_fixture.presence_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: presence_events_id_seq; Type: SEQUENCE OWNED BY; Schema: upgrade_fixture; Owner: -
--

ALTER SEQUENCE upgrade_fixture.presence_events_id_seq OWNED BY upgrade_fixture.presence_events.id;


--
-- Name: presence_requests; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.presence_requests (
    key text NOT NULL,
    digest text NOT NULL
);


--
-- Name: recognition_rules; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.recognition_rules (
    id bigint NOT NULL,
    home_school text NOT NULL,
    lesson_school text NOT NULL,
    course text NOT NULL,
    home_course text NOT NULL,
    factor_pct integer NOT NULL,
    author text NOT NULL,
    at double precision NOT NULL
);


--
-- Name: recognition_rules_id_seq; Type: SEQUENCE; Schema: upgrade_fixture; Owner: -
--

CREATE SEQUENCE upgrade_fixture.recognition_rules_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: recognition_rules_id_seq; Type: SEQUENCE OWNED BY; Schema: upgrade_fixture; Owner: -
--

ALTER SEQUENCE upgrade_fixture.recognition_rules_id_seq OWNED BY upgrade_fixture.recognition_rules.id;


--
-- Name: recognitions; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.recognitions (
    earned_seq integer NOT NULL,
    student text NOT NULL,
    home_school text NOT NULL,
    lesson_school text NOT NULL,
    course text NOT NULL,
    lesson text NOT NULL,
    amount integer NOT NULL,
    at text NOT NULL
);


--
-- Name: schools; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.schools (
    id text NOT NULL,
    name text NOT NULL,
    region text
);


--
-- Name: students; Type: TABLE; Schema: upgrade_fixture; Owner: -
--

CREATE TABLE upgrade_fixture.students (
    code text NOT NULL,
    name text NOT NULL,
    school text NOT NULL,
    classroom text NOT NULL
);


--
-- Name: attendance_excuses id; Type: DEFAULT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.attendance_excuses ALTER COLUMN id SET DEFAULT nextval('upgrade_fixture.attendance_excuses_id_seq'::regclass);


--
-- Name: attendance_overrides id; Type: DEFAULT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.attendance_overrides ALTER COLUMN id SET DEFAULT nextval('upgrade_fixture.attendance_overrides_id_seq'::regclass);


--
-- Name: presence_events id; Type: DEFAULT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.presence_events ALTER COLUMN id SET DEFAULT nextval('upgrade_fixture.presence_events_id_seq'::regclass);


--
-- Name: recognition_rules id; Type: DEFAULT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.recognition_rules ALTER COLUMN id SET DEFAULT nextval('upgrade_fixture.recognition_rules_id_seq'::regclass);


--
-- Data for Name: attendance_excuses; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.attendance_excuses VALUES (1, 'e-1', 'L1', 'SW-0002', '', NULL, NULL, 'ill', 'admin:west', 'west', 1780000101);


--
-- Data for Name: attendance_overrides; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.attendance_overrides VALUES (1, 'o-1', 'L1', 'SW-0001', 'present', 'camera broke', 'admin:east', 'east', 1780000100);


--
-- Data for Name: classrooms; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.classrooms VALUES ('east-1', 'east', 'Workshop 1');
INSERT INTO upgrade_fixture.classrooms VALUES ('west-1', 'west', 'Workshop W');


--
-- Data for Name: courses; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.courses VALUES ('mould', 'east', 'Moulding', 150);


--
-- Data for Name: enrolments; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.enrolments VALUES ('mould', 'SW-0001');
INSERT INTO upgrade_fixture.enrolments VALUES ('mould', 'SW-0002');


--
-- Data for Name: ledger_checkpoints; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.ledger_checkpoints VALUES (2, '199a7ae47d1d00294b1b1408e554833aa5e1c039b86312ac737146b5f6a3ae12', '2026-05-28T20:26:40.000000Z', '86209100df8df05a', 'q+rZllmtEpD0wv7yJUbJYX9FIiBlte1y7A0hosXDjLbP5vh/l7lQlcE8+5wrKI0KWNRSgHK38wNwqRSchG/KDg==');


--
-- Data for Name: ledger_entries; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.ledger_entries VALUES (1, 'earned:L1:SW-0001:1', '2026-05-28T20:26:40.000000Z', 'earned', 'SW-0001', 'east', 'mould', 'L1', 150, NULL, 'system', '', '{}', '0000000000000000000000000000000000000000000000000000000000000000', 'd24a8131434dcd3b8c67ffb33ea716b7536f1f4f150e95d9b728074e5f3c2e31');
INSERT INTO upgrade_fixture.ledger_entries VALUES (2, 'earned:L1:SW-0002:1', '2026-05-28T20:26:40.000000Z', 'earned', 'SW-0002', 'east', 'mould', 'L1', 150, NULL, 'system', '', '{}', 'd24a8131434dcd3b8c67ffb33ea716b7536f1f4f150e95d9b728074e5f3c2e31', '199a7ae47d1d00294b1b1408e554833aa5e1c039b86312ac737146b5f6a3ae12');


--
-- Data for Name: lesson_postings; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.lesson_postings VALUES ('L1', 'v1', '2026-05-28T20:26:40.000000Z');


--
-- Data for Name: presence_events; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.presence_events VALUES (1, 'k-join', 'L1', 'classroom.join', 1780000020, 'east-1', 's1', '', '', '', 'classroom:east-1');
INSERT INTO upgrade_fixture.presence_events VALUES (2, 'k-in', 'L1', 'student.checkin', 1780000021, 'east-1', 's1', 'SW-0001', 'code', '', 'classroom:east-1');


--
-- Data for Name: presence_requests; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.presence_requests VALUES ('req-1', 'digest-1');


--
-- Data for Name: recognition_rules; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.recognition_rules VALUES (1, 'west', 'east', 'mould', 'weld', 50, 'admin:west', 1780000102);


--
-- Data for Name: recognitions; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.recognitions VALUES (2, 'SW-0002', 'west', 'east', 'mould', 'L1', 150, '2026-05-28T20:26:40.000000Z');


--
-- Data for Name: schools; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.schools VALUES ('east', 'East College', 'north');
INSERT INTO upgrade_fixture.schools VALUES ('west', 'West College', NULL);


--
-- Data for Name: students; Type: TABLE DATA; Schema: upgrade_fixture; Owner: -
--

INSERT INTO upgrade_fixture.students VALUES ('SW-0001', 'Ana', 'east', 'east-1');
INSERT INTO upgrade_fixture.students VALUES ('SW-0002', 'Ben', 'west', 'west-1');


--
-- Name: attendance_excuses_id_seq; Type: SEQUENCE SET; Schema: upgrade_fixture; Owner: -
--

SELECT pg_catalog.setval('upgrade_fixture.attendance_excuses_id_seq', 1, true);


--
-- Name: attendance_overrides_id_seq; Type: SEQUENCE SET; Schema: upgrade_fixture; Owner: -
--

SELECT pg_catalog.setval('upgrade_fixture.attendance_overrides_id_seq', 1, true);


--
-- Name: presence_events_id_seq; Type: SEQUENCE SET; Schema: upgrade_fixture; Owner: -
--

SELECT pg_catalog.setval('upgrade_fixture.presence_events_id_seq', 2, true);


--
-- Name: recognition_rules_id_seq; Type: SEQUENCE SET; Schema: upgrade_fixture; Owner: -
--

SELECT pg_catalog.setval('upgrade_fixture.recognition_rules_id_seq', 1, true);


--
-- Name: attendance_excuses attendance_excuses_lesson_key_key; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.attendance_excuses
    ADD CONSTRAINT attendance_excuses_lesson_key_key UNIQUE (lesson, key);


--
-- Name: attendance_excuses attendance_excuses_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.attendance_excuses
    ADD CONSTRAINT attendance_excuses_pkey PRIMARY KEY (id);


--
-- Name: attendance_overrides attendance_overrides_lesson_key_key; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.attendance_overrides
    ADD CONSTRAINT attendance_overrides_lesson_key_key UNIQUE (lesson, key);


--
-- Name: attendance_overrides attendance_overrides_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.attendance_overrides
    ADD CONSTRAINT attendance_overrides_pkey PRIMARY KEY (id);


--
-- Name: classrooms classrooms_id_school_key; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.classrooms
    ADD CONSTRAINT classrooms_id_school_key UNIQUE (id, school);


--
-- Name: classrooms classrooms_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.classrooms
    ADD CONSTRAINT classrooms_pkey PRIMARY KEY (id);


--
-- Name: courses courses_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.courses
    ADD CONSTRAINT courses_pkey PRIMARY KEY (id);


--
-- Name: enrolments enrolments_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.enrolments
    ADD CONSTRAINT enrolments_pkey PRIMARY KEY (course, student);


--
-- Name: ledger_checkpoints ledger_checkpoints_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.ledger_checkpoints
    ADD CONSTRAINT ledger_checkpoints_pkey PRIMARY KEY (seq);


--
-- Name: ledger_entries ledger_entries_key_key; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.ledger_entries
    ADD CONSTRAINT ledger_entries_key_key UNIQUE (key);


--
-- Name: ledger_entries ledger_entries_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.ledger_entries
    ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY (seq);


--
-- Name: lesson_postings lesson_postings_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.lesson_postings
    ADD CONSTRAINT lesson_postings_pkey PRIMARY KEY (lesson);


--
-- Name: presence_events presence_events_key_key; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.presence_events
    ADD CONSTRAINT presence_events_key_key UNIQUE (key);


--
-- Name: presence_events presence_events_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.presence_events
    ADD CONSTRAINT presence_events_pkey PRIMARY KEY (id);


--
-- Name: presence_requests presence_requests_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.presence_requests
    ADD CONSTRAINT presence_requests_pkey PRIMARY KEY (key);


--
-- Name: recognition_rules recognition_rules_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.recognition_rules
    ADD CONSTRAINT recognition_rules_pkey PRIMARY KEY (id);


--
-- Name: recognitions recognitions_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.recognitions
    ADD CONSTRAINT recognitions_pkey PRIMARY KEY (earned_seq);


--
-- Name: schools schools_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.schools
    ADD CONSTRAINT schools_pkey PRIMARY KEY (id);


--
-- Name: students students_pkey; Type: CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.students
    ADD CONSTRAINT students_pkey PRIMARY KEY (code);


--
-- Name: attendance_excuses_by_lesson; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX attendance_excuses_by_lesson ON upgrade_fixture.attendance_excuses USING btree (lesson, id);


--
-- Name: attendance_overrides_by_lesson; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX attendance_overrides_by_lesson ON upgrade_fixture.attendance_overrides USING btree (lesson, id);


--
-- Name: enrolments_by_student; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX enrolments_by_student ON upgrade_fixture.enrolments USING btree (student);


--
-- Name: ledger_entries_ref; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX ledger_entries_ref ON upgrade_fixture.ledger_entries USING btree (ref);


--
-- Name: ledger_entries_school; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX ledger_entries_school ON upgrade_fixture.ledger_entries USING btree (school, seq);


--
-- Name: ledger_entries_student; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX ledger_entries_student ON upgrade_fixture.ledger_entries USING btree (student, seq);


--
-- Name: presence_events_by_lesson; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX presence_events_by_lesson ON upgrade_fixture.presence_events USING btree (lesson, id);


--
-- Name: presence_events_by_student; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX presence_events_by_student ON upgrade_fixture.presence_events USING btree (student, lesson);


--
-- Name: recognition_rules_by_key; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX recognition_rules_by_key ON upgrade_fixture.recognition_rules USING btree (home_school, lesson_school, course, id);


--
-- Name: recognitions_by_home; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX recognitions_by_home ON upgrade_fixture.recognitions USING btree (home_school, earned_seq);


--
-- Name: recognitions_by_lesson_school; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX recognitions_by_lesson_school ON upgrade_fixture.recognitions USING btree (lesson_school, earned_seq);


--
-- Name: students_by_school; Type: INDEX; Schema: upgrade_fixture; Owner: -
--

CREATE INDEX students_by_school ON upgrade_fixture.students USING btree (school, classroom);


--
-- Name: classrooms classrooms_school_fkey; Type: FK CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.classrooms
    ADD CONSTRAINT classrooms_school_fkey FOREIGN KEY (school) REFERENCES upgrade_fixture.schools(id);


--
-- Name: courses courses_school_fkey; Type: FK CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.courses
    ADD CONSTRAINT courses_school_fkey FOREIGN KEY (school) REFERENCES upgrade_fixture.schools(id);


--
-- Name: enrolments enrolments_course_fkey; Type: FK CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.enrolments
    ADD CONSTRAINT enrolments_course_fkey FOREIGN KEY (course) REFERENCES upgrade_fixture.courses(id);


--
-- Name: enrolments enrolments_student_fkey; Type: FK CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.enrolments
    ADD CONSTRAINT enrolments_student_fkey FOREIGN KEY (student) REFERENCES upgrade_fixture.students(code);


--
-- Name: students students_classroom_school_fkey; Type: FK CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.students
    ADD CONSTRAINT students_classroom_school_fkey FOREIGN KEY (classroom, school) REFERENCES upgrade_fixture.classrooms(id, school);


--
-- Name: students students_school_fkey; Type: FK CONSTRAINT; Schema: upgrade_fixture; Owner: -
--

ALTER TABLE ONLY upgrade_fixture.students
    ADD CONSTRAINT students_school_fkey FOREIGN KEY (school) REFERENCES upgrade_fixture.schools(id);


--
-- PostgreSQL database dump complete
--

\unrestrict XITGqqU34Htsy3j1wTz9TlpsSJ0uav3YGcNJBheoZs4gPzMhoNTtZP1eTrs3Si7

