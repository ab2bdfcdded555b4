"""How a process reaches NATS and Redis over TLS, and what it says when it cannot reach them.

`tls_context` builds the SSL context from the settings' files (a private CA, a client certificate for mutual
TLS); bus.py and state.py hand it to nats-py, faststream and redis-py. `unreachable` turns a failed connection
into an `Unreachable` error of one line a person can act on:

    cannot reach NATS at nats://127.0.0.1:4222: connection refused — is `healer up` running? set HEALER_NATS__URL

naming the server, its URL with the password masked, the reason found anywhere in the exception's chain
(refused, no answer, unknown host, TLS, credentials), and the setting to look at.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from healer_common.errors import Unreachable
from healer_common.logging import redact_url


def tls_context(ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext:
    """A client context that verifies the server (against `ca_file`, else the system's CAs) and presents a client
    certificate when one is given."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


@dataclass(frozen=True)
class Server:
    """A server as the settings name it, for the words of `unreachable`."""

    name: str  # NATS, Redis
    url: str
    env: str  # the settings' environment prefix, e.g. HEALER_NATS__
    credentials: str  # where its credentials are set, e.g. "HEALER_NATS__TOKEN or HEALER_NATS__CREDS_FILE"
    tls: bool = False  # the client speaks TLS to it: a reset during the handshake is then TLS's doing


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _refused_credentials(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "auth" in type(exc).__name__.lower() or "authorization violation" in text or "wrongpass" in text


def _explain(cause: BaseException, server: Server, timeout_s: float) -> tuple[str, str] | None:
    """(why, what to do) when this one cause says something a person can act on, else None."""
    on_url = f"is `healer up` running? set {server.env}URL"
    tls_hint = f"check {server.env}TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE"
    if _refused_credentials(cause):
        return "the server refused the credentials", f"check {server.credentials}"
    if isinstance(cause, ssl.SSLError):
        return f"TLS failed ({cause.reason or cause.strerror or type(cause).__name__})", tls_hint
    if server.tls and isinstance(cause, ConnectionResetError | BrokenPipeError):
        # A server that rejects the handshake (no client certificate, say) may cut the connection before its TLS
        # alert is read: the client then sees a reset, not the alert. Which one arrives is a race.
        return "TLS failed (the server reset the connection during the handshake)", tls_hint
    known = {
        socket.gaierror: ("unknown host", f"check {server.env}URL"),
        ConnectionRefusedError: ("connection refused", on_url),
        TimeoutError: (f"no answer within {timeout_s:g}s", on_url),
    }
    return next((words for kind, words in known.items() if isinstance(cause, kind)), None)


def _reason(exc: BaseException, server: Server, timeout_s: float) -> tuple[str, str]:
    """(why, what to do) for the first cause in the chain that says something a person can act on."""
    for cause in _chain(exc):
        if found := _explain(cause, server, timeout_s):
            return found
    return redact_url(f"{type(exc).__name__}: {exc}".rstrip(": ")), f"is `healer up` running? set {server.env}URL"


def unreachable(server: Server, exc: BaseException, *, timeout_s: float) -> Unreachable:
    why, what_to_do = _reason(exc, server, timeout_s)
    return Unreachable(
        f"cannot reach {server.name} at {redact_url(server.url)}: {why} — {what_to_do}", server=server.name
    )
