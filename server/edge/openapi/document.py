"""The OpenAPI 3.1 document of the REST API, built from ``OPERATIONS`` and the pydantic wire models.

Pydantic writes the JSON Schemas (2020-12, the dialect of OpenAPI 3.1) into
``components/schemas``; this module only lays the operations out around them.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server.edge.openapi.operation import Body, Operation, Param, Reply
from server.edge.openapi.operations import OPERATIONS

__all__ = ["build_document", "document", "routes"]

Schema = dict[str, Any]
_REF = "#/components/schemas/{model}"
_ERRORS = {
    400: "bad input: the message names the field",
    401: "no valid token (WWW-Authenticate: Bearer)",
    403: "the token's role, school or lesson scope does not allow it",
    404: "not found",
    409: "the state does not allow it, or an idempotency key was used for other content",
    413: "the body is too large",
    415: "wrong Content-Type",
    429: "too many attempts: wait and retry",
    503: "the database is unreachable: retry shortly",
}
_HEADERS = {
    "Location": "the new resource",
    "ETag": "the session's entity tag",
    "Link": "ICE servers (rel=ice-server)",
    "Content-Range": "the range served",
    "Accept-Ranges": "bytes",
    "Cache-Control": "caching rules",
    "Content-Disposition": "the attachment's file name",
    "X-Experience-API-Version": "1.0.3",
}
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"access_token": []}]
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "a signed access token (`classroom token`): subject, role, school, lesson scope"},
    "access_token": {"type": "apiKey", "in": "query", "name": "access_token",
                     "description": "the same token, for clients that cannot set headers"},
}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"Error": _error_model()}
    for op in OPERATIONS:
        models = [reply.model for reply in op.replies] + [op.body.model if op.body else None]
        found.update({model.__name__: model for model in models if model is not None})
    return list(found.values())


def _error_model() -> type[BaseModel]:
    from server.edge.openapi.wire import Error

    return Error


def _components() -> Schema:
    models = _models()
    _, top = models_json_schema([(model, _mode(model)) for model in models], ref_template=_REF)
    return {"schemas": top.get("$defs", {}), "securitySchemes": _SECURITY_SCHEMES}


def _mode(model: type[BaseModel]) -> Any:
    return "validation" if model.__name__.endswith(("Request", "Patch")) else "serialization"


def _ref(model: type[BaseModel]) -> Schema:
    return {"$ref": _REF.format(model=model.__name__)}


def _param(param: Param) -> Schema:
    return {"name": param.name, "in": param.where, "required": param.required,
            "description": param.description, "schema": param.schema}


def _path_params(op: Operation) -> list[Schema]:
    return [{"name": name, "in": "path", "required": True,
             "schema": op.path_schemas.get(name, {"type": "string", "minLength": 1})} for name in op.path_names()]


def _content(model: type[BaseModel] | None, media_type: str, schema: Schema | None, many: bool = False) -> Schema:
    body = _ref(model) if model is not None else schema
    if many:
        body = {"type": "array", "items": body}
    return {media_type: {"schema": body}}


def _reply(reply: Reply) -> Schema:
    out: Schema = {"description": reply.description}
    if reply.model is not None or reply.schema is not None:
        out["content"] = _content(reply.model, reply.media_type, reply.schema, reply.many)
    if reply.headers:
        out["headers"] = {name: {"description": _HEADERS[name], "schema": {"type": "string"}} for name in reply.headers}
    return out


def _error(status: int) -> Schema:
    return {"description": _ERRORS[status], "content": {"application/json": {"schema": _ref(_error_model())}}}


def _body(body: Body) -> Schema:
    return {"required": True, "content": _content(body.model, body.media_type, body.schema)}


def _operation(op: Operation) -> Schema:
    responses = {str(reply.status): _reply(reply) for reply in op.replies}
    responses.update({str(status): _error(status) for status in op.error_statuses()})
    out: Schema = {"operationId": op.id, "summary": op.summary, "tags": [op.tag],
                   "parameters": _path_params(op) + [_param(param) for param in op.params],
                   "responses": responses, "security": [] if op.public else _SECURITY}
    if op.body is not None:
        out["requestBody"] = _body(op.body)
    return out


def openapi_path(path: str) -> str:
    """A Starlette path template in OpenAPI form: ``{track:path}`` becomes ``{track}``."""
    return path.replace(":path}", "}").replace(":str}", "}")


def build_document() -> Schema:
    """The whole document, as a JSON-ready dict."""
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        paths.setdefault(openapi_path(op.path), {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cloud classroom", "version": "1",
                 "description": "Errors are {\"error\": {\"code\", \"message\"}}. The lesson channel "
                                "(WebSocket /ws/lessons/{lesson_id}) is described in docs/protocol.md."},
        "paths": paths,
        "components": _components(),
    }


@functools.cache
def document() -> Schema:
    """``build_document()``, built once per process."""
    return build_document()


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(document())


routes: list[BaseRoute] = [Route("/api/openapi.json", openapi_json, methods=["GET"], name="openapi")]
