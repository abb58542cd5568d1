"""A node serving its ledger over HTTP (uvicorn on a loopback port, in a thread), with a store of
its own on the same database for the test to append to and tamper with."""

from __future__ import annotations

import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import uvicorn

from classroom.roles import Role
from server.edge.app import create_app
from server.edge.database import Database, PostgresDatabase, SqliteDatabase
from server.edge.settings import Settings
from server.ledger.checkpoints import PUBLIC_KEY_FILE, CheckpointSigner
from server.ledger.store import CREDITS_DB_FILE, LEDGER_SCHEMA, LedgerStore
from tests.support.databases import postgres_url
from tests.support.ledger import earned
from tests.support.servers import wait_started

__all__ = ["Node", "running_node"]


@dataclass
class Node:
    url: str
    data_dir: Path
    db: Database
    store: LedgerStore
    signer: CheckpointSigner
    """the node's own key: what an attacker who also stole it would sign with"""
    admin: str
    """an admin token of another school ("west"), for every lesson: a partner witness"""
    settings: Settings

    @property
    def public_key(self) -> Path:
        return self.data_dir / PUBLIC_KEY_FILE

    async def append(self, first: int, last: int) -> None:
        for n in range(first, last + 1):
            await self.store.append([earned(n)])


@asynccontextmanager
async def running_node(engine: str, data_dir: Path) -> AsyncIterator[Node]:
    """The app on ``engine`` ("sqlite" or "postgresql") serving on 127.0.0.1."""
    namespace = f"t_{secrets.token_hex(6)}"
    settings = (Settings(data_dir=data_dir) if engine == "sqlite"
                else Settings(data_dir=data_dir, database_url=postgres_url(), database_schema=namespace))
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    db: Database = (SqliteDatabase(data_dir / CREDITS_DB_FILE, LEDGER_SCHEMA) if engine == "sqlite"
                    else PostgresDatabase(postgres_url(), LEDGER_SCHEMA, namespace=namespace))
    try:
        port = wait_started(server, thread)
        await db.open()
        signer = CheckpointSigner.load_or_create(data_dir)
        admin = app.state.tokens.issue("witness", Role.ADMIN, "west")
        yield Node(f"http://127.0.0.1:{port}", data_dir, db, LedgerStore(db, signer), signer, admin, settings)
    finally:
        await db.close()
        server.should_exit = True
        thread.join(15)
        if engine == "postgresql":
            with psycopg.connect(postgres_url(), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE')

