"""Credentials never reach the logs: ``access_token=`` and ``ticket=`` query values are redacted.

uvicorn's access log writes every request line with its query string, and its WebSocket lines
the path with the query. A client that cannot set headers may pass its token as
``?access_token=`` and a media element carries a media ticket (``?ticket=``): both would then sit
in log files readable by people who must not hold them. :class:`RedactSecrets` rewrites such
values to ``[redacted]`` in a record's message and arguments; ``classroom serve`` installs it on
uvicorn's handlers and on the root handler (:func:`uvicorn_log_config`, :func:`install`).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

__all__ = ["REDACTED", "SECRET_PARAMS", "RedactSecrets", "install", "redact", "uvicorn_log_config"]

SECRET_PARAMS = ("access_token", "ticket")
REDACTED = "[redacted]"
_NAMES = "|".join(SECRET_PARAMS)
_SECRET_VALUE = re.compile(rf"(?P<key>(?:^|[?&;\s])(?:{_NAMES})=)[^&#\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the value of every ``access_token=`` and ``ticket=`` query parameter replaced."""
    return _SECRET_VALUE.sub(lambda match: match.group("key") + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Redacts credentials in query strings from a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: redact(value) if isinstance(value, str) else value
                           for key, value in record.args.items()}
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`RedactSecrets` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_secrets"]
    return config


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
