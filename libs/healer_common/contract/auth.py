"""Who may make Healer act: credentials, their scopes, and the two ways a caller proves it holds one.

Scopes:

    ingest              send events (collector: POST /events/{source}, POST /alertmanager)
    ack                 acknowledge incidents (notifier: POST /acks/{incident})
    approve:<level>     answer approval requests of that level (rollback: oncall, drain: admin, ...)
    admin               everything above, and running playbooks by hand

A credential holds a bearer token (or only its SHA-256, so a leaked server file reveals no token) and/or a
signing secret, and its scopes directly or through roles (`auth.roles`). A caller proves it holds one by

- a bearer token: `Authorization: Bearer <token>`;
- a signature (event sources, as GitHub and Stripe sign webhooks): `X-Healer-Timestamp: <unix seconds>` and
  `X-Healer-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`; a timestamp outside the replay
  window, or a signature seen before, is refused;
- on the bus, an attestation: the approver's CLI signs the decision with a key derived from its token, so
  the remediator learns who answered from the credential, never from a name in the body.

Pure: nothing here reads files or the network; runtime/auth.py loads credentials and guards the endpoints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, model_validator

from healer_common.contract.messages import Frozen

SCOPE_PATTERN = re.compile(r"^(ingest|ack|admin|approve:[a-z0-9][a-z0-9-]{0,62})$")
ANY_APPROVAL = "approve:*"
"""Needed by reads of what waits for approval and by denials: any approve scope will do."""
SIGNATURE_HEADER = "X-Healer-Signature"
TIMESTAMP_HEADER = "X-Healer-Timestamp"


def _scope(value: str) -> str:
    if not SCOPE_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a scope; use ingest, ack, admin or approve:<level> (e.g. approve:oncall)")
    return value


Scope = Annotated[str, AfterValidator(_scope)]


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a token: what a credentials file may hold instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def key_id(digest: str) -> str:
    """A public name for a token's key, so an attestation names its credential without revealing any of it."""
    return hashlib.sha256(b"healer-key-id:" + bytes.fromhex(digest)).hexdigest()[:16]


class Credential(BaseModel):
    """One entry of a credentials file (or of `auth.credentials`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$", description="who this is")
    token: SecretStr | None = Field(None, description="bearer token (keep the file secret)")
    token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the token instead")
    signing_secret: SecretStr | None = Field(None, description="HMAC key for signed requests (event sources)")
    scopes: list[Scope] = Field(default_factory=list, description="scopes granted directly")
    roles: list[str] = Field(default_factory=list, description="roles (auth.roles) whose scopes are granted")

    @model_validator(mode="after")
    def _proves_something(self) -> Credential:
        if self.token is None and self.token_sha256 is None and self.signing_secret is None:
            raise ValueError(f"credential {self.name!r} has no token, token_sha256 or signing_secret")
        token, digest = self.token, self.token_sha256
        if token is not None and digest is not None and token_digest(token.get_secret_value()) != digest:
            raise ValueError(f"credential {self.name!r}: token and token_sha256 disagree; keep one")
        if not self.scopes and not self.roles:
            raise ValueError(f"credential {self.name!r} grants nothing: give it scopes or roles")
        return self

    @property
    def digest(self) -> str | None:
        if self.token_sha256 is not None:
            return self.token_sha256
        return token_digest(self.token.get_secret_value()) if self.token is not None else None


class CredentialFile(BaseModel):
    """A credentials file: `credentials: [{name, token | token_sha256 | signing_secret, scopes, roles}]`."""

    model_config = ConfigDict(extra="forbid")

    credentials: list[Credential] = Field(default_factory=list)


@dataclass(frozen=True)
class Principal:
    """A caller whose credential checked out, with everything its credential grants."""

    name: str
    scopes: frozenset[str]
    via: str  # "token", "signature" or "attestation"

    def allows(self, needed: str) -> bool:
        if "admin" in self.scopes or needed in self.scopes:
            return True
        return needed == ANY_APPROVAL and any(s.startswith("approve:") for s in self.scopes)


@dataclass(frozen=True)
class Keyring:
    """Every credential a service accepts, indexed the ways callers present them."""

    by_digest: Mapping[str, Principal] = field(default_factory=dict)
    by_key_id: Mapping[str, tuple[bytes, Principal]] = field(default_factory=dict)
    signers: tuple[tuple[bytes, Principal], ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.by_digest and not self.signers

    def bearer(self, token: str) -> Principal | None:
        return self.by_digest.get(token_digest(token))


def build_keyring(credentials: Iterable[Credential], roles: Mapping[str, list[str]]) -> Keyring:
    """Index credentials; a credential naming an unknown role keeps its other grants and is reported."""
    by_digest: dict[str, Principal] = {}
    by_key_id: dict[str, tuple[bytes, Principal]] = {}
    signers: list[tuple[bytes, Principal]] = []
    problems: list[str] = []
    for credential in credentials:
        scopes = set(credential.scopes)
        for role in credential.roles:
            if role not in roles:
                problems.append(f"credential {credential.name!r} names role {role!r}, which auth.roles lacks")
            scopes.update(roles.get(role, []))
        principal = Principal(credential.name, frozenset(scopes), "token")
        if (digest := credential.digest) is not None:
            by_digest[digest] = principal
            by_key_id[key_id(digest)] = (bytes.fromhex(digest), principal)
        if credential.signing_secret is not None:
            signer = Principal(credential.name, frozenset(scopes), "signature")
            signers.append((credential.signing_secret.get_secret_value().encode(), signer))
    return Keyring(by_digest, by_key_id, tuple(signers), tuple(problems))


# signed requests ----------------------------------------------------------------------------------------------
def request_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` over `<timestamp>.<body>`: what a signing source sends in X-Healer-Signature (and what the
    notifier's webhook channel sends its receivers)."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """The headers that sign `body` at `now`, for senders and tests."""
    stamp = str(int(now.timestamp()))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: request_signature(secret.encode(), stamp, body)}


@dataclass(frozen=True)
class SignatureVerdict:
    principal: Principal | None
    reason: str  # why not, when principal is None
    code: str  # a short label for metrics: bad_signature, stale_signature, bad_timestamp


def check_signature(
    keyring: Keyring, body: bytes, *, timestamp: str | None, signature: str | None, now: dt.datetime, window_s: float
) -> SignatureVerdict:
    """Who signed this request, if a signer did, within `window_s` of now. Replays inside the window are the
    caller's to catch (it remembers signatures it has seen)."""
    if not timestamp or not re.fullmatch(r"[0-9]{1,12}", timestamp.strip()):
        return SignatureVerdict(None, f"{TIMESTAMP_HEADER} must be unix seconds, got {timestamp!r}", "bad_timestamp")
    age = now.timestamp() - int(timestamp)
    if abs(age) > window_s:
        reason = f"signature timestamp is {age:.0f}s from now; the replay window is {window_s:.0f}s"
        return SignatureVerdict(None, reason, "stale_signature")
    offered = (signature or "").strip().encode("utf-8", "replace")  # compare bytes: a str must be ASCII
    for secret, principal in keyring.signers:
        if hmac.compare_digest(request_signature(secret, timestamp.strip(), body).encode(), offered):
            return SignatureVerdict(principal, "", "")
    return SignatureVerdict(None, f"{SIGNATURE_HEADER} matches no signing credential", "bad_signature")


# attestations on the bus --------------------------------------------------------------------------------------
class Attestation(Frozen):
    """Proof that the holder of a credential said something: HMAC-SHA256, keyed by the SHA-256 of its token,
    over the statement and the time it was signed."""

    key_id: str = Field(min_length=16, max_length=16, pattern=r"^[0-9a-f]+$")
    signed_at: AwareDatetime
    proof: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]+$")


def _proof(key: bytes, statement: str, signed_at: dt.datetime) -> str:
    message = f"{statement}\n{signed_at.astimezone(dt.UTC).isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def attest(token: str, statement: str, now: dt.datetime) -> Attestation:
    """Sign `statement` with a token, as the CLI does for an approval."""
    digest = token_digest(token)
    return Attestation(key_id=key_id(digest), signed_at=now, proof=_proof(bytes.fromhex(digest), statement, now))


def attest_as(keyring: Keyring, principal: Principal, statement: str, now: dt.datetime) -> Attestation | None:
    """Sign on behalf of a principal whose token the service checked (the approvals endpoint re-publishes)."""
    for kid, (key, holder) in keyring.by_key_id.items():
        if holder.name == principal.name:
            return Attestation(key_id=kid, signed_at=now, proof=_proof(key, statement, now))
    return None


def verify_attestation(keyring: Keyring, attestation: Attestation | None, statement: str) -> Principal | str:
    """The principal who signed `statement`, or why the attestation does not prove it."""
    if attestation is None:
        return "unsigned: it carries no attestation (answer with `healer approve`, or over HTTP with a token)"
    found = keyring.by_key_id.get(attestation.key_id)
    if found is None:
        return f"signed with key {attestation.key_id}, which no credential of this service holds"
    key, principal = found
    if not hmac.compare_digest(_proof(key, statement, attestation.signed_at), attestation.proof):
        return f"the attestation of {principal.name} does not match what it came with (altered, or forged)"
    return Principal(principal.name, principal.scopes, "attestation")
