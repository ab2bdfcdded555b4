"""`healer nats config --out DIR`: the NATS side of least privilege. Writes one nkey seed per identity
(`<identity>.nk`, readable by its owner only; existing seeds are kept, so re-running after an upgrade only
refreshes the permissions) and `accounts.conf`, the nats-server `accounts` block giving each identity's public
key exactly the rights of contract/permissions.py. Include it from nats-server's configuration, and give each
service its seed (`HEALER_NATS__NKEY_SEED_FILE`); in Kubernetes the seeds are Secret `healer-nats`.

    healer nats config --out nats/          then in nats-server.conf:   include "nats/accounts.conf"
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import nkeys
import typer

from healer_cli.runtime import ConfigOption, line, settings_or_exit
from healer_common.contract.permissions import IDENTITIES, Permissions, permissions
from healer_common.contract.subjects import SubjectSpace

app = typer.Typer(help="NATS users and permissions, one per Healer service.", no_args_is_help=True)
ACCOUNT = "HEALER"


@app.callback()
def nats_group() -> None:
    """NATS users and permissions, one per Healer service (`healer nats config`)."""


def seed_for(folder: Path, identity: str) -> nkeys.KeyPair:
    """The identity's nkey from its seed file, made (0600) if there is none yet."""
    path = folder / f"{identity}.nk"
    if not path.exists():
        seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(seed + b"\n")
    return nkeys.from_seed(path.read_bytes().strip())


def user_entry(public_key: str, rights: Permissions) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "nkey": public_key,
        "permissions": {
            "publish": {"allow": list(rights.publish), "deny": list(rights.deny_publish)},
            "subscribe": {"allow": list(rights.subscribe)},
        },
    }
    if rights.respond:
        entry["permissions"]["allow_responses"] = True
    return entry


def accounts_block(keys: dict[str, str], space: SubjectSpace) -> str:
    """nats-server configuration (its JSON form): Healer's account with JetStream and one user per identity."""
    rights = permissions(space)
    users = [user_entry(keys[identity], rights[identity]) for identity in IDENTITIES]
    account = {ACCOUNT: {"jetstream": "enabled", "users": users}}
    header = "# Healer's NATS users, one per identity (healer nats config); include it from nats-server.conf\n"
    return f"{header}accounts: {json.dumps(account, indent=2)}\n"


def write_config(folder: Path, space: SubjectSpace) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    keys = {identity: seed_for(folder, identity).public_key.decode() for identity in IDENTITIES}
    path = folder / "accounts.conf"
    path.write_text(accounts_block(keys, space))
    return path


@app.command("config")
def config_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for accounts.conf and the seeds")],
    config: Path | None = ConfigOption,
) -> None:
    """Write nats-server's accounts block and one nkey seed per identity (kept if already there)."""
    settings = settings_or_exit(config)
    path = write_config(out, settings.space)
    line(f"wrote {path} for subject root {settings.space.root!r}; seeds: {', '.join(f'{i}.nk' for i in IDENTITIES)}")
    line(f'nats-server.conf: include "{path.resolve()}"; each service: HEALER_NATS__NKEY_SEED_FILE=<its seed>')
