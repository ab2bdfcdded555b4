"""The OpenAPI 3.1 document of the read API (`GET /api/v1/openapi.json`), written from the route table
(routes.py) and the pydantic models the routes answer with, so it is as current as the code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.api.routes import ROUTES, Route

REF = "#/components/schemas/{model}"
ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "what was wrong, and how to ask instead"}},
    "required": ["error"],
}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for route in ROUTES:
        for model in (route.answer, route.body):
            if model is not None:
                found.setdefault(model.__name__, model)
    return list(found.values())


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in route.path_params
    ]
    for param in route.params:
        schema: dict[str, Any] = {"type": param.kind}
        if param.choices:
            schema["enum"] = list(param.choices)
        params.append({"name": param.name, "in": "query", "description": param.description, "schema": schema})
    return params


def _answer(route: Route, refs: dict[str, Any]) -> dict[str, Any]:
    if route.stream:
        return {"text/event-stream": {"schema": {"type": "string"}}}
    if route.answer is None:
        return {}
    schema = refs[route.answer.__name__]
    return {"application/json": {"schema": {"type": "array", "items": schema} if route.many else schema}}


def _operation(route: Route, refs: dict[str, Any]) -> dict[str, Any]:
    status = "202" if route.method == "POST" and route.name != "silence" else "200"
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "parameters": _parameters(route),
        "responses": {
            status: {"description": "OK", "content": _answer(route, refs)},
            "400": {"description": "a parameter or body is wrong", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if route.body is not None:
        body = refs[route.body.__name__]
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if route.scope is not None:
        operation["security"] = [{"bearer": []}]
        operation["responses"]["401"] = {"description": "no bearer token, or one that matches no credential"}
        operation["responses"]["403"] = {"description": f"the credential lacks scope {route.scope}"}
    if route.path_params:
        operation["responses"]["404"] = {
            "description": "no such item",
            "content": {"application/json": {"schema": ERROR}},
        }
    return operation


def document(version: str) -> dict[str, Any]:
    models = _models()
    mapping, definitions = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    refs = {m.__name__: mapping[(m, "serialization")] for m in models}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Healer read API",
            "version": version,
            "description": "What Healer sees and does, read from JetStream and Redis; approvals, "
            "acknowledgements and silences go back through the bus.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
