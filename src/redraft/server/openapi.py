"""The server's OpenAPI document, from the same pydantic models that validate requests.

Published at `/openapi.json` so the API can be fuzzed (tests/server/test_fuzz.py) and clients
generated; responses list every status a route can answer with.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from redraft.server.schema import ChatRequest, ErrorBody, MessagesRequest

VERSION = "1"


def _ref(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    defs[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _errors(defs: dict[str, Any], *statuses: int) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": _ref(ErrorBody, defs)}}}
    return {str(s): {"description": "error", **body} for s in statuses}


@cache
def openapi_document() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    json_object = {"type": "object"}
    chat = {"content": {"application/json": {"schema": _ref(ChatRequest, defs)}}, "required": True}
    messages = {"content": {"application/json": {"schema": _ref(MessagesRequest, defs)}}, "required": True}
    ok_json = {"description": "ok", "content": {"application/json": {"schema": json_object}}}
    ok_stream = {
        "description": "ok (JSON, or an SSE stream when `stream` is true)",
        "content": {"application/json": {"schema": json_object}, "text/event-stream": {}},
    }
    upstream = (400, 401, 404, 413, 422, 429, 502, 504)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "redraft serve",
            "version": VERSION,
            "description": "OpenAI- and Anthropic-compatible refinement proxy",
        },
        "paths": {
            "/health": {"get": {"responses": {"200": ok_json}}},
            "/metrics": {
                "get": {
                    "responses": {
                        "200": {"description": "Prometheus text", "content": {"text/plain": {}}},
                        **_errors(defs, 401),
                    }
                }
            },
            "/v1/models": {"get": {"responses": {"200": ok_json, **_errors(defs, 401, 502)}}},
            "/v1/chat/completions": {
                "post": {"requestBody": chat, "responses": {"200": ok_stream, **_errors(defs, *upstream)}}
            },
            "/v1/messages": {
                "post": {
                    "requestBody": messages,
                    "responses": {"200": ok_stream, **_errors(defs, *upstream, 529)},
                }
            },
        },
        "components": {"schemas": defs, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
