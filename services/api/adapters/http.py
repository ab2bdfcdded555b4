"""The API's HTTP plumbing: JSON answers (pages are assembled from stored bodies without re-encoding them),
request bodies read into their models, the bearer token of the write routes, and one translation of errors
into statuses, so that each route handler is a few lines.

    BadQuery, a body that fails its model     400 with the reason, field by field
    no credential, or one without the scope   401, 403 (the guard in front, runtime/auth.py)
    Refused (nothing there, nothing waits)    404 / 409 with the reason
    memory-bridge or NATS does not answer     503 with the reason
    a body over limits.body_bytes, too slow   413, 408 (request_body, runtime/httpserver.py)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from healer_common.contract.codec import describe
from healer_common.errors import Retryable
from healer_common.runtime.httpserver import request_body
from services.api.adapters.writes import Refused
from services.api.queries import BadQuery

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"


def error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


def answers(handler: Handler) -> Handler:
    """Turn the API's errors into the statuses above."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadQuery as exc:
            return error(400, str(exc))
        except ValidationError as exc:
            return error(400, describe(exc))
        except Refused as exc:
            return error(exc.status, str(exc))
        except Retryable as exc:
            return error(503, str(exc))

    return wrapped


def model(value: BaseModel | Sequence[BaseModel], status: int = 200) -> web.Response:
    if not isinstance(value, BaseModel):
        body = b"[" + b",".join(v.model_dump_json().encode() for v in value) + b"]"
    else:
        body = value.model_dump_json().encode()
    return web.Response(body=body, status=status, content_type=JSON)


def page(items: list[bytes], after: int | None) -> web.Response:
    """`{"items": [...], "next": ...}` from bodies already in JSON, as the stream holds them, copied once (a
    10,000-alert page is 6 MB)."""
    head, tail = b'{"items":[', b'],"next":' + json.dumps(after).encode() + b"}"
    if not items:
        return web.Response(body=head + tail, content_type=JSON)
    body = b",".join([head + items[0], *items[1:-1], items[-1] + tail] if len(items) > 1 else [head + items[0] + tail])
    return web.Response(body=body, content_type=JSON)


async def body(request: web.Request, shape: type[M]) -> M:
    """The request's JSON body as `shape`; a ValidationError (400) says what is wrong."""
    return shape.model_validate_json(await request_body(request))


def params(request: web.Request) -> dict[str, str]:
    return {key: request.query[key] for key in request.query}
