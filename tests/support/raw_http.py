"""HTTP requests as a hostile or broken client sends them, over a plain TCP connection: a body trickled byte
by byte, a body that stops half-way, a Content-Length that lies. An HTTP library would refuse to send these,
or fail to read the answer a server gives before the body is complete; the tests and bench/fuzz.py need that
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawAnswer:
    status: int  # 0: the server closed the connection without an answer
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def _read_answer(reader: asyncio.StreamReader) -> RawAnswer:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return RawAnswer(status, await reader.readexactly(length) if length else b"")


async def raw_post(
    base_url: str,
    path: str,
    body: bytes,
    *,
    content_type: str = "application/cloudevents+json",
    declared_length: int | None = None,
    bytes_per_s: float | None = None,
    stop_after: int | None = None,
    chunked: bool = False,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> RawAnswer:
    """POST `body` (its first `stop_after` bytes only, if given, then wait), `bytes_per_s` at a time if given,
    in 64 KiB chunks without a length if `chunked`, and return the server's answer, even one sent before the
    body was complete."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    if chunked:
        framing = "Transfer-Encoding: chunked"
        step = 64 * 1024
        pieces = [body[i : i + step] for i in range(0, len(body), step)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    else:
        framing = f"Content-Length: {len(body) if declared_length is None else declared_length}"
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: {content_type}\r\n"
        f"{extra}{framing}\r\nConnection: close\r\n\r\n"
    )
    answer = asyncio.create_task(_read_answer(reader))
    try:
        writer.write(head.encode())
        await writer.drain()
        await _send(writer, body[:stop_after] if stop_after is not None else body, bytes_per_s, answer)
        async with asyncio.timeout(timeout_s):
            return await answer
    except (asyncio.IncompleteReadError, ConnectionError):
        return RawAnswer(0, b"")
    finally:
        answer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await answer
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _send(
    writer: asyncio.StreamWriter, body: bytes, bytes_per_s: float | None, answer: asyncio.Task[Any]
) -> None:
    """Write the body, slowly if asked, stopping as soon as the server has answered or hung up."""
    step = 1 if bytes_per_s else 64 * 1024
    for start in range(0, len(body), step):
        if answer.done():
            return
        try:
            writer.write(body[start : start + step])
            await writer.drain()
        except ConnectionError:
            return
        if bytes_per_s:
            await asyncio.sleep(1 / bytes_per_s)  # the slow client under test: this pace is the input
