"""Where playbooks come from, and which wins: RemediationPlaybook resources in the cluster, then files named by
`remediator.playbook_paths`, then the built-ins; a name found earlier replaces the same name found later.

A bad file stops the remediator at start with the file, the field and the reason; on a later reload it is
reported and the playbooks in use stay as they were. A bad custom resource is reported and left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from kubernetes import client

from healer_common.errors import ConfigError
from services.remediator.actions.cluster import list_items
from services.remediator.actions.plans import CLUSTER_ERRORS
from services.remediator.playbooks import ActionTraits, Playbook, compile_playbook, compile_text

GROUP, VERSION, PLURAL = "healer.platform", "v1", "remediationplaybooks"
BUILTIN = "builtin"


def builtin_playbooks(traits: Mapping[str, ActionTraits]) -> list[Playbook]:
    text = resources.files("services.remediator").joinpath("builtin_playbooks.yaml").read_text()
    return compile_text(text, traits, BUILTIN)


def playbook_files(paths: list[Path]) -> list[Path]:
    """The YAML files named, folders expanded (sorted, so the first of two same names is predictable)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path} is neither a file nor a folder", field="remediator.playbook_paths")
    return found


def file_playbooks(paths: list[Path], traits: Mapping[str, ActionTraits]) -> list[Playbook]:
    playbooks: list[Playbook] = []
    for path in playbook_files(paths):
        playbooks += compile_text(path.read_text(), traits, str(path))
    return playbooks


async def cluster_playbooks(
    api: client.ApiClient, traits: Mapping[str, ActionTraits]
) -> tuple[list[Playbook], list[ConfigError]]:
    """RemediationPlaybook resources in every namespace; those that do not validate come back as errors."""
    custom = client.CustomObjectsApi(api)
    playbooks, errors = [], []
    for item in await list_items(custom.list_cluster_custom_object, GROUP, VERSION, PLURAL):
        meta = item.get("metadata") or {}
        source = f"cluster:{meta.get('namespace') or '-'}/{meta.get('name', '?')}"
        try:
            playbooks.append(compile_playbook(item, traits, source))
        except ConfigError as exc:
            errors.append(exc)
    return playbooks, errors


def merged(*groups: list[Playbook]) -> tuple[Playbook, ...]:
    """First occurrence of each name wins, in the order the groups are given."""
    seen: dict[str, Playbook] = {}
    for group in groups:
        for playbook in group:
            seen.setdefault(playbook.name, playbook)
    return tuple(seen.values())


class PlaybookLibrary:
    """The playbooks in use; `reload` re-reads files and the cluster and keeps the last good set of files."""

    def __init__(
        self, traits: Mapping[str, ActionTraits], paths: list[Path], api: client.ApiClient | None, *, cluster: bool
    ) -> None:
        self._traits = traits
        self._paths = paths
        self._api = api if cluster else None
        self._builtin = builtin_playbooks(traits)
        self._files = file_playbooks(paths, traits)  # a bad file stops the start here
        self._cluster: list[Playbook] = []
        self.errors: list[str] = []

    @property
    def playbooks(self) -> tuple[Playbook, ...]:
        return merged(self._cluster, self._files, self._builtin)

    def get(self, name: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.name == name), None)

    async def reload(self) -> list[str]:
        """Read files and the cluster again; the problems found (files keep their last good version)."""
        errors: list[str] = []
        try:
            self._files = await asyncio.to_thread(file_playbooks, self._paths, self._traits)
        except ConfigError as exc:
            errors.append(f"{exc} (keeping the playbooks loaded before)")
        if self._api is not None:
            try:
                self._cluster, bad = await cluster_playbooks(self._api, self._traits)
            except CLUSTER_ERRORS as exc:
                errors.append(f"cannot list RemediationPlaybooks in the cluster: {exc}")
            else:
                errors += [str(e) for e in bad]
        self.errors = errors
        return errors
