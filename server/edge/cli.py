"""The ``classroom`` command: ``serve`` runs the server, ``token`` mints an access token, ``link`` a
URL that opens a page signed in, ``ledger verify`` checks the credit ledger, ``ledger witness``
another node's."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from classroom.access import ANY_LESSON
from classroom.roles import Role
from server.edge import log_redaction
from server.edge.secret import load_or_create_secret
from server.edge.settings import LOG_LEVELS, Settings
from server.edge.tokens import TokenCodec
from server.ledger.verify_cli import add_verify_arguments, run_verify
from server.ledger.witness_cli import add_witness_arguments, run_witness

__all__ = ["build_parser", "main"]

SHUTDOWN_DEADLINE_S = 10


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="classroom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP/WebSocket server")
    serve.add_argument("--host", help="bind address (CLASSROOM_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (CLASSROOM_PORT, default 8080)")
    serve.add_argument("--data-dir", type=Path, help="state directory (CLASSROOM_DATA_DIR)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="(CLASSROOM_LOG_LEVEL)")

    token = commands.add_parser("token", help="print a signed access token")
    token.add_argument("--role", required=True, choices=[role.value for role in Role])
    token.add_argument("--subject", required=True, help="who the token is for")
    token.add_argument("--lesson", default=ANY_LESSON, help="lesson id, or * for any lesson")
    token.add_argument("--school", default="east")
    token.add_argument("--ttl", type=_positive_int, default=3600, help="lifetime in seconds")
    token.add_argument("--grant", action="append", default=[], help="extra grant (repeatable)")
    token.add_argument("--data-dir", type=Path, help="state directory (CLASSROOM_DATA_DIR)")

    link = commands.add_parser("link", help="print a URL that opens the role's page signed in")
    link.add_argument("--role", required=True, choices=[role.value for role in Role])
    link.add_argument("--subject", required=True, help="who the link is for")
    link.add_argument("--school", default="east")
    link.add_argument("--lesson", default=ANY_LESSON, help="lesson id, or * for any lesson")
    link.add_argument("--ttl", type=_positive_int, default=8 * 3600, help="lifetime in seconds (default 8 h)")
    link.add_argument("--base-url", help="the server's address as people reach it (CLASSROOM_PUBLIC_URL, "
                      "default http://HOST:PORT)")
    link.add_argument("--data-dir", type=Path, help="state directory (CLASSROOM_DATA_DIR)")

    ledger = commands.add_parser("ledger", help="inspect the credit ledger")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_commands.add_parser("verify", help="check the hash chain and the signed checkpoints")
    add_verify_arguments(verify)
    witness = ledger_commands.add_parser("witness", help="check another node's signed checkpoints against "
                                         "those seen before, and keep them")
    add_witness_arguments(witness)
    return parser


WS_MAX_FRAME_BYTES = 1024 * 1024  # larger WebSocket frames are refused (close 1009)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.edge.app import create_app

    settings = Settings.from_env(
        os.environ,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        log_level=args.log_level,
    )
    logging.basicConfig(
        level=logging.DEBUG if settings.log_level == "trace" else settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    log_redaction.install()
    uvicorn.run(
        create_app(settings),
        log_config=log_redaction.uvicorn_log_config(),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        loop="auto",
        lifespan="on",
        ws_max_size=WS_MAX_FRAME_BYTES,
        timeout_graceful_shutdown=SHUTDOWN_DEADLINE_S,
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    settings = Settings.from_env(os.environ, data_dir=args.data_dir)
    codec = TokenCodec(load_or_create_secret(settings.data_dir))
    token = codec.issue(
        args.subject,
        Role(args.role),
        args.school,
        lesson=args.lesson,
        ttl_s=args.ttl,
        grants=args.grant,
    )
    print(f"# {args.role} token for {args.subject} (lesson {args.lesson}, {args.ttl} s):")
    print(token)
    return 0


def _link(args: argparse.Namespace) -> int:
    from server.edge.web.links import sign_in_link

    settings = Settings.from_env(os.environ, data_dir=args.data_dir)
    codec = TokenCodec(load_or_create_secret(settings.data_dir))
    token = codec.issue(args.subject, Role(args.role), args.school, lesson=args.lesson, ttl_s=args.ttl)
    base = args.base_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"# {args.role} page for {args.subject} of {args.school} (lesson {args.lesson}, {args.ttl} s):")
    print(sign_in_link(base, Role(args.role), token, args.lesson))
    return 0


def _ledger(args: argparse.Namespace) -> int:
    return {"verify": run_verify, "witness": run_witness}[args.ledger_command](args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        handler = {"serve": _serve, "token": _token, "link": _link, "ledger": _ledger}[args.command]
        return handler(args)
    except ValueError as exc:
        print(f"classroom: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
