"""The description of one REST operation: what it takes, what it answers, which errors it can give."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["Body", "Operation", "Param", "Reply", "header", "query"]

Schema = dict[str, Any]


@dataclass(frozen=True)
class Param:
    """A query or header parameter (path parameters come from the path template)."""

    name: str
    where: str
    schema: Schema
    description: str
    required: bool = False


def query(name: str, description: str, schema: Schema | None = None, *, required: bool = False) -> Param:
    return Param(name, "query", schema or {"type": "string"}, description, required)


def header(name: str, description: str, schema: Schema | None = None, *, required: bool = False) -> Param:
    return Param(name, "header", schema or {"type": "string"}, description, required)


@dataclass(frozen=True)
class Body:
    """A request body: a pydantic model (JSON) or a plain schema of another media type."""

    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    schema: Schema | None = None


@dataclass(frozen=True)
class Reply:
    """A success response: a pydantic model, a plain schema of another media type, or no body."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    schema: Schema | None = None
    headers: tuple[str, ...] = ()
    many: bool = False
    """the body is a JSON array of ``model``"""


@dataclass(frozen=True)
class Operation:
    """One method on one path, as the route table serves it."""

    method: str
    path: str
    id: str
    summary: str
    tag: str
    replies: tuple[Reply, ...]
    errors: tuple[int, ...] = ()
    body: Body | None = None
    params: tuple[Param, ...] = ()
    public: bool = False
    path_schemas: dict[str, Schema] = field(default_factory=dict)

    def path_names(self) -> list[str]:
        return re.findall(r"{([^}:]+)}", self.path)

    def error_statuses(self) -> list[int]:
        """The documented errors: 401 unless public; 400/413/415 with a body."""
        statuses = set(self.errors)
        if not self.public:
            statuses.add(401)
        if self.body is not None:
            statuses.update((400, 413, 415))
        return sorted(statuses)
