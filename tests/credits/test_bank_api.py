"""The credit bank through the API: postings at lesson end, recognition, reversals, levels, access."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from typing import Any

import psycopg
import pytest

from tests.support.programme import (  # noqa: F401  (fixtures)
    COURSE,
    EAST_ROOM,
    EAST_STUDENT,
    WEST_2_STUDENTS,
    WEST_STUDENTS,
    Programme,
    clock,
    programme,
)

A, B, C = WEST_STUDENTS
ABSENT = WEST_2_STUDENTS[0]


@pytest.fixture
def p(programme: Programme) -> Programme:  # noqa: F811
    return programme


async def taught(p: Programme) -> str:
    """A 60-minute lesson attended in full by A (west) and by the east student; B and C left at once."""
    lesson = await p.start_lesson()
    west, east = p.connect(lesson), p.connect(lesson, EAST_ROOM)
    await p.tick(lesson, checked_in=(A, B, C))
    east_tick = await p.client.post(f"/api/lessons/{lesson}/presence", json={"checked_in": [EAST_STUDENT]},
                                    headers={**p.classroom(EAST_ROOM, school="east"), "Idempotency-Key": "e"})
    assert east_tick.status_code == 201, east_tick.text
    await p.tick(lesson, checked_out=(B, C))
    p.wait(3600)
    p.disconnect(west)
    p.disconnect(east)
    await p.end_lesson(lesson)
    return lesson


def kinds(account: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["kind"], e["credits"]) for e in account["entries"]]


async def rule(p: Programme, factor: int = 50) -> None:
    await p.ok("POST", "/api/recognition-rules", p.admin("west-1"),
               json={"lesson_school": "east", "course": COURSE, "home_course": "MJ-3", "factor_pct": factor})


async def pending_seq(p: Programme, code: str = A) -> int:
    found = await p.ok("GET", "/api/recognitions?status=pending", p.admin("west-1"))
    return int(next(r["earned_seq"] for r in found["recognitions"] if r["student"] == code))


async def test_credits_are_posted_when_the_lesson_ends(p: Programme) -> None:
    await taught(p)
    west = await p.credits(A)
    assert (west["earned"], west["recognised"], west["pending"], west["level"]) == ("2.00", "0.00", "2.00", "tin")
    assert kinds(west) == [("earned", "2.00")]
    east = await p.credits(EAST_STUDENT, school="east")
    assert (east["earned"], east["recognised"], east["level"]) == ("2.00", "2.00", "iron")
    assert kinds(east) == [("earned", "2.00"), ("recognised", "2.00"), ("level_change", "0.00")]
    assert (await p.credits(B))["entries"] == [] and (await p.credits(ABSENT))["entries"] == []


async def test_posting_a_lesson_again_appends_nothing(p: Programme) -> None:
    lesson = await taught(p)
    again = await p.ok("POST", f"/api/lessons/{lesson}/credits", p.admin("east"))
    assert again["created"] == [] and again["existing"] == 0
    assert kinds(await p.credits(A)) == [("earned", "2.00")]
    assert (await p.client.post(f"/api/lessons/{lesson}/credits", headers=p.admin("west-1"))).status_code == 403


async def test_the_home_school_posts_a_pending_credit_by_its_rule_and_both_schools_see_it(p: Programme) -> None:
    await taught(p)
    seq = await pending_seq(p)
    no_rule = await p.client.post(f"/api/recognitions/{seq}/post", headers=p.admin("west-1"), json={})
    assert no_rule.status_code == 409
    await rule(p, factor=100)
    posted = await p.client.post(f"/api/recognitions/{seq}/post", headers=p.admin("west-1"), json={})
    assert posted.status_code == 201 and posted.json()["entries"][0]["course"] == "MJ-3"
    again = await p.client.post(f"/api/recognitions/{seq}/post", headers=p.admin("west-1"), json={})
    assert again.status_code == 200 and again.json()["result"] == "exists"
    account = await p.credits(A)
    assert (account["recognised"], account["pending"], account["level"]) == ("2.00", "0.00", "iron")
    assert kinds(account) == [("earned", "2.00"), ("recognised", "2.00"), ("level_change", "0.00")]
    east_view = await p.ok("GET", "/api/recognitions", p.admin("east"))
    assert [(r["student"], r["status"]) for r in east_view["recognitions"]] == [(A, "posted")]
    void = await p.client.post(f"/api/recognitions/{seq}/void", headers=p.admin("west-1"), json={"reason": "x"})
    assert void.status_code == 409


async def test_a_rule_scales_the_recognised_credits(p: Programme) -> None:
    await taught(p)
    await rule(p, factor=50)
    await p.ok("POST", f"/api/recognitions/{await pending_seq(p)}/post", p.admin("west-1"), json={})
    assert (await p.credits(A))["recognised"] == "1.00"


async def test_the_home_school_voids_a_pending_credit_with_a_reason(p: Programme) -> None:
    await taught(p)
    seq = await pending_seq(p)
    no_reason = await p.client.post(f"/api/recognitions/{seq}/void", headers=p.admin("west-1"), json={})
    assert no_reason.status_code == 400
    not_home = await p.client.post(f"/api/recognitions/{seq}/void", headers=p.admin("east"), json={"reason": "x"})
    assert not_home.status_code == 403
    await p.ok("POST", f"/api/recognitions/{seq}/void", p.admin("west-1"), json={"reason": "not in our plan"})
    account = await p.credits(A)
    assert (account["pending"], account["recognised"]) == ("0.00", "0.00")
    assert [e["kind"] for e in account["entries"]] == ["earned", "recognition_voided"]


async def test_a_reversal_is_a_new_entry_that_also_reverses_the_recognition_and_the_level(p: Programme) -> None:
    await taught(p)
    account = await p.credits(EAST_STUDENT, school="east")
    earned = account["entries"][0]["seq"]
    url = f"/api/ledger/entries/{earned}/reversal"
    assert (await p.client.post(url, headers=p.admin("east"), json={})).status_code == 400
    assert (await p.client.post(url, headers=p.admin("west-1"), json={"reason": "x"})).status_code == 403
    body = {"reason": "recorded in the wrong lesson"}
    first = await p.client.post(url, headers=p.admin("east"), json=body)
    assert first.status_code == 201, first.text
    assert (await p.client.post(url, headers=p.admin("east"), json=body)).status_code == 200
    assert (await p.client.post(url, headers=p.admin("east"), json={"reason": "other"})).status_code == 409
    account = await p.credits(EAST_STUDENT, school="east")
    assert (account["earned"], account["recognised"], account["level"]) == ("0.00", "0.00", "tin")
    assert kinds(account)[3:] == [("reversal", "-2.00"), ("reversal", "-2.00"), ("level_change", "0.00")]
    assert account["entries"][3]["author"] == "admin:admin-east@east"
    assert account["entries"][3]["reason"] == body["reason"]


async def test_an_admin_reversal_sticks_when_the_lesson_is_posted_again(p: Programme) -> None:
    lesson = await taught(p)
    earned = (await p.credits(A))["entries"][0]["seq"]
    await p.ok("POST", f"/api/ledger/entries/{earned}/reversal", p.admin("east"), json={"reason": "cheated"})
    await p.ok("POST", f"/api/lessons/{lesson}/credits", p.admin("east"))
    assert (await p.credits(A))["earned"] == "0.00"


async def test_corrections_after_the_end_are_posted_as_new_entries(p: Programme) -> None:
    lesson = await taught(p)
    url = f"/api/lessons/{lesson}/attendance/overrides"
    await p.ok("POST", url, p.admin("east"), json={"student": B, "status": "present", "reason": "teacher saw him"})
    assert kinds(await p.credits(B)) == [("earned", "2.00")]
    await p.ok("POST", url, p.admin("east"), json={"student": A, "status": "absent", "reason": "left the room"})
    account = await p.credits(A)
    assert kinds(account) == [("earned", "2.00"), ("reversal", "-2.00")]
    assert account["entries"][1]["author"] == "system" and "absent" in account["entries"][1]["reason"]


@pytest.mark.parametrize(
    ("reader", "status"),
    [("self", 200), ("other-student", 403), ("home-admin", 200), ("teacher", 403), ("classroom", 403),
     ("stranger-admin", 403)],
)
async def test_who_reads_a_students_credits(p: Programme, reader: str, status: int) -> None:
    await taught(p)
    headers = {"self": p.student(A), "other-student": p.student(B), "home-admin": p.admin("west-1"),
               "teacher": p.teacher(), "classroom": p.classroom(), "stranger-admin": p.admin("south")}[reader]
    response = await p.client.get(f"/api/students/{A}/credits", headers=headers)
    assert response.status_code == status


async def test_the_teaching_school_sees_only_its_books_of_another_schools_student(p: Programme) -> None:
    await taught(p)
    await rule(p)
    await p.ok("POST", f"/api/recognitions/{await pending_seq(p)}/post", p.admin("west-1"), json={})
    east_view = await p.ok("GET", f"/api/students/{A}/credits", p.admin("east"))
    assert [e["kind"] for e in east_view["entries"]] == ["earned"] and east_view["complete"] is False
    books = await p.ok("GET", "/api/ledger/entries", p.admin("east"))
    assert {e["school"] for e in books["entries"]} == {"east"}
    other = await p.client.get("/api/ledger/entries?school=west-1", headers=p.admin("east"))
    assert other.status_code == 403


async def test_the_signed_checkpoint_covers_the_head(p: Programme) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    await taught(p)
    data = await p.ok("GET", "/api/ledger/checkpoint", p.student(A))
    checkpoint = data["checkpoint"]
    key = load_pem_public_key(data["public_key"].encode())
    assert checkpoint["seq"] == 4  # A earned; the east student earned, recognised, levelled up
    assert key is not None


@pytest.mark.parametrize("path", ["/api/recognitions/abc/post", "/api/ledger/entries/x/reversal",
                                  "/api/recognitions/1/approve", "/api/ledger/entries/%C2%B2/reversal"])
async def test_bad_ledger_paths_are_refused(p: Programme, path: str) -> None:
    response = await p.client.post(path, headers=p.admin("east"), json={"reason": "r"})
    assert response.status_code in (400, 404)


def verify_args(p: Programme) -> list[str]:
    """``classroom ledger verify`` arguments for the programme's database."""
    settings = p.app.state.settings
    args = ["--data-dir", str(settings.data_dir)]
    if settings.database_url:
        args += ["--database-url", settings.database_url, "--namespace", settings.database_schema]
    return args


async def verify(args: list[str]) -> tuple[int, str]:
    """``classroom ledger verify`` as an admin runs it: another process."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "server", "ledger", "verify", *args,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_verify_finds_an_amount_edited_behind_the_servers_back(p: Programme) -> None:
    await taught(p)
    settings = p.app.state.settings
    args = verify_args(p)
    code, out = await verify(args)
    assert code == 0, out
    forged = "UPDATE ledger_entries SET amount = 2000 WHERE seq = 1"
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{settings.database_schema}"'.encode())
            conn.execute(forged.encode())
    else:
        with sqlite3.connect(settings.data_dir / "credits.db") as conn:
            conn.execute(forged)
    code, out = await verify(args)
    assert code == 1 and "changed" in out and "seq 1" in out, out
    # the server shows the forged amount; the ledger says it cannot be trusted
    assert (await p.credits(EAST_STUDENT, school="east"))["earned"] == "20.00"


async def test_a_lesson_ended_by_a_server_that_stopped_before_posting_is_posted_at_the_next_start(
        p: Programme) -> None:
    from server.edge.app import create_app

    bank = p.app.state.bank
    p.app.state.lessons.on_ended.remove(bank.lesson_ended)  # the process dies between the end and the posting
    await taught(p)
    assert (await p.credits(A))["entries"] == []
    restarted = create_app(p.app.state.settings, clock=p.clock)
    async with restarted.router.lifespan_context(restarted):
        pass
    assert kinds(await p.credits(A)) == [("earned", "2.00")]
    again = create_app(p.app.state.settings, clock=p.clock)
    async with again.router.lifespan_context(again):
        assert await again.state.bank.post_unposted() == 0
    assert kinds(await p.credits(A)) == [("earned", "2.00")]


async def test_a_lesson_posted_in_several_transactions_is_whole_and_verifies(
        p: Programme, monkeypatch: pytest.MonkeyPatch) -> None:
    import server.credits.bank

    monkeypatch.setattr(server.credits.bank, "POSTING_CHUNK", 2)  # five students: three transactions
    await taught(p)
    assert kinds(await p.credits(A)) == [("earned", "2.00")]
    assert (await p.credits(EAST_STUDENT, school="east"))["level"] == "iron"
    args = verify_args(p)
    code, out = await verify(args)
    assert code == 0, out


async def test_a_reversed_recognition_cannot_be_posted_again(p: Programme) -> None:
    await taught(p)
    await rule(p, factor=100)
    seq = await pending_seq(p)
    posted = await p.ok("POST", f"/api/recognitions/{seq}/post", p.admin("west-1"), json={})
    recognised = posted["entries"][0]["seq"]
    await p.ok("POST", f"/api/ledger/entries/{recognised}/reversal", p.admin("west-1"), json={"reason": "wrong"})
    found = await p.ok("GET", "/api/recognitions", p.admin("west-1"))
    assert [(r["student"], r["status"]) for r in found["recognitions"] if r["earned_seq"] == seq] == [(A, "reversed")]
    again = await p.client.post(f"/api/recognitions/{seq}/post", headers=p.admin("west-1"), json={})
    assert again.status_code == 409
    account = await p.credits(A)
    assert (account["recognised"], account["level"]) == ("0.00", "tin")


async def test_another_schools_admin_sees_only_the_totals_of_their_books(p: Programme) -> None:
    await taught(p)
    await rule(p, factor=100)
    await p.ok("POST", f"/api/recognitions/{await pending_seq(p)}/post", p.admin("west-1"), json={})
    view = await p.ok("GET", f"/api/students/{A}/credits", p.admin("east"))
    assert (view["earned"], view["recognised"], view["level"], view["complete"]) == ("2.00", "0.00", None, False)
