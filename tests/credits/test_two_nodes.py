"""Two server nodes on one PostgreSQL: racing ledger writes stay consistent."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
import psycopg
from starlette.applications import Starlette

from server.edge.app import create_app
from server.edge.settings import Settings
from tests.credits.test_bank_api import pending_seq, rule, taught
from tests.support.databases import drop_schema, postgres_url
from tests.support.programme import WEST_STUDENTS, Clock, Programme, _set_up
from tests.support.tokens import Tokens

A = WEST_STUDENTS[0]


def node(tmp_path: Path, name: str, schema: str, clock: Clock) -> Starlette:
    settings = Settings(data_dir=tmp_path / name, database_url=postgres_url(), database_schema=schema,
                        level_thresholds="iron=2,bronze=4,silver=6,gold=8")
    return create_app(settings, clock=clock)


async def waiting_on_locks(schema: str, count: int) -> None:
    """Until ``count`` sessions wait for a lock (bounded)."""
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        for _ in range(500):
            row = conn.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted").fetchone()
            if row is not None and row[0] >= count:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions queued on the ledger lock")


async def test_a_reversal_and_a_recognition_racing_on_two_nodes_leave_no_credit_behind(tmp_path: Path) -> None:
    schema, clock = f"t_{secrets.token_hex(6)}", Clock()
    east_node, west_node = node(tmp_path, "n1", schema, clock), node(tmp_path, "n2", schema, clock)
    try:
        async with (
            east_node.router.lifespan_context(east_node),
            west_node.router.lifespan_context(west_node),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=east_node), base_url="http://a") as c1,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=west_node), base_url="http://b") as c2,
        ):
            east = Programme(east_node, c1, Tokens(east_node.state.tokens), clock)
            west = Programme(west_node, c2, Tokens(west_node.state.tokens), clock)
            await _set_up(east)
            await taught(east)
            await rule(east)
            seq = await pending_seq(east)
            with psycopg.connect(postgres_url()) as blocker:  # both requests queue behind this
                blocker.execute(f'SET search_path TO "{schema}"'.encode())
                blocker.execute(b"LOCK TABLE ledger_entries IN EXCLUSIVE MODE")
                reversal = asyncio.ensure_future(c1.post(f"/api/ledger/entries/{seq}/reversal",
                                                         headers=east.admin("east"), json={"reason": "absent"}))
                posting = asyncio.ensure_future(c2.post(f"/api/recognitions/{seq}/post",
                                                        headers=west.admin("west-1"), json={}))
                await waiting_on_locks(schema, 2)
                blocker.rollback()
            reversed_, posted = await reversal, await posting
            assert reversed_.status_code == 201, reversed_.text
            assert posted.status_code in (201, 409), posted.text
            account = await east.credits(A)
            assert (account["earned"], account["recognised"], account["level"]) == ("0.00", "0.00", "tin")
    finally:
        drop_schema(schema)
