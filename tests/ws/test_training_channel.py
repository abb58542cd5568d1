"""The training line over the lesson channel: teacher and classrooms operate one twin, live."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette

from classroom.training.scenarios import builtin_scenario_path
from tests.support.client_document import ClientDocument
from tests.support.lesson_channel import LessonClient, bearer
from tests.support.tokens import Tokens

SCENARIO = "mould_machining_line"


class LineView(ClientDocument):
    """A client's document of the line, fed from the messages its LessonClient has read."""

    def __init__(self, client: LessonClient) -> None:
        super().__init__()
        self.client = client

    def _absorb(self) -> None:
        self.client.seen[:] = [m for m in self.client.seen if not self.absorb(m)]

    async def until(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                self._absorb()
                if self.document is not None and predicate(self.document):
                    return self.document
                self.client.seen.append(json.loads(await self.client.ws.recv()))

    def station(self, station: str) -> dict[str, Any]:
        assert self.document is not None
        return dict(self.document["stations"][station])


async def command(client: LessonClient, **body: Any) -> dict[str, Any]:
    return await client.request({"type": "training.command", "command": body})


async def test_teacher_and_two_classrooms_operate_one_line_and_see_the_same_state(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as nujiang,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2"))) as kunming,
    ):
        views = {name: LineView(c) for name, c in (("teacher", teacher), ("nujiang", nujiang), ("kunming", kunming))}
        loaded = await teacher.request({"type": "training.load", "scenario": SCENARIO})
        assert loaded["type"] == "ack" and loaded["scenario"] == "mould_machining_line", loaded
        for station, classroom in (("lathe", "nujiang-1"), ("robot", "kunming-2"), ("press", "kunming-2")):
            reply = await command(teacher, kind="assign_station", station=station, classroom=classroom)
            assert reply["type"] == "training.accepted", reply

        reply = await command(nujiang, kind="set_parameter", station="lathe", name="spindle_speed", value=2000)
        assert reply["type"] == "training.accepted", reply
        await views["kunming"].until(lambda d: d["stations"]["lathe"]["parameters"]["spindle_speed"] == 2000)

        refused = await command(nujiang, kind="set_parameter", station="press", name="clamp_force", value=900)
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
        out_of_range = await command(nujiang, kind="set_parameter", station="lathe", name="spindle_speed", value=9e9)
        assert out_of_range["type"] == "error" and out_of_range["code"] == "bad_request", out_of_range

        assert (await command(kunming, kind="station", station="robot", action="reset"))["type"] == "training.accepted"
        await views["kunming"].until(lambda d: d["stations"]["robot"]["status"] == "idle")
        reply = await command(kunming, kind="set_parameter", station="press", name="guard_open", value=True)
        assert reply["type"] == "training.accepted", reply
        blocked = await command(kunming, kind="station", station="robot", action="start")
        assert blocked["type"] == "error" and blocked["code"] == "conflict" and "interlock" in blocked["message"]

        revision = (await command(teacher, kind="set_fault_rate", rate_per_hour=0))["revision"]
        for view in views.values():
            await view.until(lambda d, v=view: v.revision >= revision)
        assert views["teacher"].document == views["nujiang"].document == views["kunming"].document
        assert all(view.gaps == 0 for view in views.values())
        assert not any(m["type"] == "error" for m in teacher.seen + kunming.seen)


async def test_a_classroom_that_reconnects_catches_up_from_its_last_revision(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
        teacher_view = LineView(teacher)
        await teacher.request({"type": "training.load", "scenario": SCENARIO})
        async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2"))) as kunming:
            view = LineView(kunming)
            await view.until(lambda d: True)
            left_at = view.revision
        for value in (1000, 1100, 1200):
            reply = await command(teacher, kind="set_parameter", station="press", name="clamp_force", value=value)
            assert reply["type"] == "training.accepted"
        final = reply["revision"]
        await teacher_view.until(lambda d: teacher_view.revision >= final)

        async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2"))) as kunming:
            await kunming.expect("training.snapshot")  # a fresh join always gets a snapshot...
            back = LineView(kunming)
            back.document, back.revision = view.document, left_at  # ...but a client that kept its state resyncs
            await kunming.send({"type": "training.resync", "revision": left_at})
            await back.until(lambda d: back.revision >= final)
            assert back.document == teacher_view.document
            assert back.station("press")["parameters"]["clamp_force"] == 1200


async def test_students_watch_the_line_but_cannot_operate_it(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with (
        LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
        LessonClient.connect(base, lesson_id, bearer(tokens.student("li"))) as student,
    ):
        await teacher.request({"type": "training.load", "scenario": SCENARIO})
        await LineView(student).until(lambda d: "press" in d["stations"])
        reply = await command(student, kind="station", station="press", action="reset")
        assert reply["type"] == "error" and reply["code"] == "forbidden"


async def test_bad_training_messages_get_errors_and_change_nothing(base: str, lesson_id: str, tokens: Tokens) -> None:
    async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
        early = await command(teacher, kind="station", station="press", action="reset")
        assert early["type"] == "error" and early["code"] == "conflict"  # no line loaded yet
        unknown = await teacher.request({"type": "training.load", "scenario": "no_such_line"})
        assert unknown["type"] == "error" and unknown["code"] == "not_found"
        broken = {"id": "x", "stations": [{"id": "press", "cycle_s": 5,
                                           "parameters": {"force": {"min": 10, "max": 1}}}]}
        invalid = await teacher.request({"type": "training.load", "scenario": broken})
        assert invalid["type"] == "error" and "stations[0].parameters.force.max" in invalid["message"]

        await teacher.request({"type": "training.load", "scenario": SCENARIO})
        view = LineView(teacher)
        await view.until(lambda d: True)
        revision = view.revision
        for body in ({"kind": "explode"}, {"kind": "station", "station": "press", "action": "fly"},
                     {"kind": "set_parameter", "station": "press", "name": "clamp_force", "value": "high"},
                     {"kind": "station", "station": "nowhere", "action": "reset"}):
            reply = await command(teacher, **body)
            assert reply["type"] == "error" and reply["code"] == "bad_request", (body, reply)
        not_object = await teacher.request({"type": "training.command", "command": "reset everything"})
        assert not_object["type"] == "error" and not_object["code"] == "invalid"
        probe = await command(teacher, kind="set_fault_rate", rate_per_hour=1.5)  # the scenario's own rate
        assert probe["type"] == "training.accepted" and probe["revision"] == revision


async def test_a_new_line_replaces_the_old_one_for_everybody(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette
) -> None:
    async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
        await teacher.request({"type": "training.load", "scenario": SCENARIO})
        first = app.state.rooms.rooms[lesson_id].training
        await teacher.request({"type": "training.load", "scenario": SCENARIO})
        second = app.state.rooms.rooms[lesson_id].training
        assert first is not second and first._task is not None and first._task.done()
        await teacher.expect("training.snapshot")
        assert (await teacher.expect("training.snapshot"))["revision"] == 0


async def test_a_flooding_classroom_gets_rate_limited_while_the_teacher_is_still_served(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2"))) as kunming,
    ):
        await teacher.request({"type": "training.load", "scenario": SCENARIO})
        assert (await command(teacher, kind="assign_station", station="press", classroom="kunming-2"))[
            "type"] == "training.accepted"
        flood = [json.dumps({"type": "training.command", "id": f"f{i}", "command": {
            "kind": "set_parameter", "station": "press", "name": "clamp_force", "value": 700 + i}})
            for i in range(60)]
        for raw in flood:
            await kunming.send_raw(raw)
        reply = await command(teacher, kind="set_parameter", station="lathe", name="spindle_speed", value=2100)
        assert reply["type"] == "training.accepted", reply
        answers: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(10):
            while len(answers) < len(flood):
                message = json.loads(await kunming.ws.recv())
                if str(message.get("id", "")).startswith("f"):
                    answers[message["id"]] = message
        codes = [m.get("code", m["type"]) for m in answers.values()]
        assert codes.count("rate_limited") >= 20 and codes.count("training.accepted") >= 10


async def test_an_oversized_training_message_is_refused_and_changes_nothing(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette
) -> None:
    async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
        huge = {"id": "huge", "title": "x" * 70_000, "stations": [{"id": "press", "cycle_s": 5}]}
        await teacher.send_raw(json.dumps({"type": "training.load", "scenario": huge}))
        await teacher.expect("error", code="too_large")
        assert app.state.rooms.rooms[lesson_id].training is None


async def test_a_scenario_with_infinite_numbers_is_refused_and_nothing_is_loaded_or_broadcast(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette
) -> None:
    infinite = {"id": "inf", "stations": [{"id": "press", "cycle_s": 5, "parameters": {
        "force": {"min": float("-inf"), "max": float("inf"), "default": 0}}}]}
    async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
        await teacher.send_raw(json.dumps({"type": "training.load", "scenario": infinite, "id": "l1"}))
        refused = await teacher.expect("error", code="bad_json")
        assert "Infinity" in refused["message"]
        await teacher.send_raw(json.dumps({"type": "training.load", "scenario": infinite, "id": "l2"})
                               .replace("Infinity", "1e999"))
        assert "float" in (await teacher.expect("error", code="bad_message"))["message"]
        assert (await teacher.request({"type": "ping"}))["type"] == "pong"
        assert app.state.rooms.rooms[lesson_id].training is None
        assert not any(m["type"].startswith("training.") for m in teacher.seen)


async def test_a_scenario_whose_interlock_blocks_hold_a_list_is_an_error_and_the_socket_stays_open(
        base: str, lesson_id: str, tokens: Tokens) -> None:
    """Found by tests/training/test_scenario_properties.py: an unhashable action was a TypeError that
    escaped the handler and closed the teacher's socket."""
    document = json.loads(builtin_scenario_path(SCENARIO).read_text(encoding="utf-8"))
    document["interlocks"][0]["blocks"] = [["start"]]
    async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
        refused = await teacher.request({"type": "training.load", "scenario": document})
        assert refused["type"] == "error" and refused["message"].startswith("interlocks[0].blocks[0]: ")
        assert (await teacher.request({"type": "ping"}))["type"] == "pong"
