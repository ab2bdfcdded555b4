"""Credentials on the command line: the ones `healer up` writes at first start, the token every command that
makes Healer act presents (found without being told), and `healer credentials new` for everyone else.

    healer credentials new alice --role oncall [--file credentials.yaml]   a token for alice, printed once
    healer credentials new ci --role source --signing                      a signing secret for an event source
    healer credentials list                                                who is in the file, and their scopes

The file holds each token's SHA-256 unless `--plain` asks for the token itself (a file the CLI signs with
must hold it, as the one `healer up` writes does). In Kubernetes the file is Secret `healer-credentials`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from healer_cli.runtime import EXIT_BAD_CONFIG, ConfigOption, console, errors, fail, line, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.contract.auth import Credential, build_keyring, token_digest
from healer_common.errors import ConfigError
from healer_common.runtime.auth import all_credentials, read_credentials_file
from healer_common.settings import Settings

app = typer.Typer(help="Create and list the credentials that may make Healer act.", no_args_is_help=True)
FileOption = typer.Option(None, "--file", "-f", help="credentials file (default: auth.credentials_file)")


def client_token(settings: Settings, scope: str) -> tuple[str, str]:
    """(credential name, token) to present for `scope`: HEALER_AUTH__TOKEN, else the first fitting credential
    with a token among the settings' and the credentials file's. Raise ConfigError saying where to get one."""
    keyring = build_keyring(all_credentials(settings.auth), settings.auth.roles)
    if settings.auth.token is not None:
        token = settings.auth.token.get_secret_value()
        principal = keyring.bearer(token)
        return (principal.name if principal else "HEALER_AUTH__TOKEN"), token
    for credential in all_credentials(settings.auth):
        if credential.token is None:
            continue
        token = credential.token.get_secret_value()
        principal = keyring.bearer(token)
        if principal is not None and principal.allows(scope):
            return credential.name, token
    raise ConfigError(
        f"no credential with a token and scope {scope} to act with: `healer up` writes one to "
        f"{settings.auth.credentials_file}; elsewhere set HEALER_AUTH__TOKEN or HEALER_AUTH__CREDENTIALS_FILE",
        field="auth.token",
    )


def _write(path: Path, credentials: list[Credential]) -> None:
    """Write a credentials file readable by its owner only (it holds tokens or secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "credentials": [c.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for c in credentials]
    }
    for entry, credential in zip(data["credentials"], credentials, strict=True):
        for field in ("token", "signing_secret"):
            if (value := getattr(credential, field)) is not None:
                entry[field] = value.get_secret_value()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Healer credentials (docs/security.md): keep this file secret.\n")
        yaml.safe_dump(data, out, sort_keys=False)


def ensure_local_credentials(path: Path) -> bool:
    """At `healer up`'s first start: an admin for the CLI and a source that may send events; True if written."""
    if path.exists():
        return False
    admin = Credential(name="local-admin", token=secrets.token_urlsafe(32), roles=["admin"])
    source = Credential(
        name="local-source",
        token=secrets.token_urlsafe(32),
        signing_secret=secrets.token_urlsafe(32),
        roles=["source"],
    )
    _write(path, [admin, source])
    return True


def _new_credential(settings: Settings, existing: list[Credential], fields: dict[str, Any]) -> Credential:
    """The credential to add; ValueError (a pydantic one included) saying what is wrong."""
    if fields["name"] in {c.name for c in existing}:
        raise ValueError(f"there is already a credential named {fields['name']!r}")
    if unknown := sorted(set(fields["roles"]) - set(settings.auth.roles)):
        raise ValueError(f"no such role: {', '.join(unknown)}; auth.roles has {', '.join(settings.auth.roles)}")
    return Credential.model_validate(fields)


@app.command("new")
def new_command(
    name: Annotated[str, typer.Argument(help="who the credential is for (a person, a bot, a source)")],
    roles: Annotated[list[str], typer.Option("--role", "-r", help="a role of auth.roles (repeatable)")] = [],  # noqa: B006 - typer's list default
    scopes: Annotated[list[str], typer.Option("--scope", "-s", help="a scope granted directly (repeatable)")] = [],  # noqa: B006
    signing: Annotated[bool, typer.Option("--signing", help="a signing secret instead of a token")] = False,
    plain: Annotated[bool, typer.Option("--plain", help="store the token, not its SHA-256")] = False,
    file: Path | None = FileOption,
    config: Path | None = ConfigOption,
) -> None:
    """Add a credential to the credentials file and print its token or signing secret (shown only now)."""
    settings = settings_or_exit(config)
    path = file or settings.auth.credentials_file
    if path is None:
        fail("give --file or set HEALER_AUTH__CREDENTIALS_FILE", label="no credentials file", code=EXIT_BAD_CONFIG)
    secret = secrets.token_urlsafe(32)
    fields: dict[str, Any] = {"name": name, "roles": roles, "scopes": scopes}
    if signing:
        fields["signing_secret"] = secret
    elif plain:
        fields["token"] = secret
    else:
        fields["token_sha256"] = token_digest(secret)
    try:
        existing = read_credentials_file(path)
        credential = _new_credential(settings, existing, fields)
    except (ConfigError, ValueError) as exc:
        fail(" ".join(str(exc).split()), label=f"cannot add the credential to {path}", code=EXIT_BAD_CONFIG)
    _write(path, [*existing, credential])
    what = "signing secret" if signing else "token"
    line(f"added {name} to {path}; its {what} (shown only now):")
    print(secret)  # alone on its line, for `| tail -1`


@app.command("list")
def list_command(file: Path | None = FileOption, config: Path | None = ConfigOption) -> None:
    """The credentials a service would accept: names, how they prove themselves, and what they grant."""
    settings = settings_or_exit(config)
    auth = settings.auth if file is None else settings.auth.model_copy(update={"credentials_file": file})
    try:
        credentials = all_credentials(auth)
    except ConfigError as exc:
        fail(str(exc), label="bad credentials", code=EXIT_BAD_CONFIG)
    keyring = build_keyring(credentials, auth.roles)
    rows = []
    for credential in credentials:
        proofs = [p for p, v in (("token", credential.digest), ("signature", credential.signing_secret)) if v]
        principal = keyring.by_digest.get(credential.digest or "") or next(
            (p for _, p in keyring.signers if p.name == credential.name), None
        )
        rows.append([credential.name, " and ".join(proofs), ", ".join(sorted(principal.scopes)) if principal else ""])
    columns = [Column("name", key=True), Column("proves with"), Column("scopes")]
    show(console, columns, rows, title=f"Credentials ({auth.credentials_file})")
    for problem in keyring.problems:
        line((problem, "yellow"), to=errors)
