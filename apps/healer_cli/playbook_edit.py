"""Where `healer playbooks edit` saves a playbook: back into its file (the other documents of the file kept),
into its custom resource (as a merge patch, so other fields stay), or, for a built-in, as an override file in
the first folder of `remediator.playbook_paths` (a same-named playbook there replaces the built-in).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from healer_common.errors import ConfigError
from healer_common.runtime.kube import api_client
from healer_common.settings import Settings
from services.remediator.actions.cluster import MERGE_PATCH, kube
from services.remediator.adapters.playbook_sources import BUILTIN, GROUP, PLURAL, VERSION
from services.remediator.merge_patch import merge_patch
from services.remediator.playbooks import Playbook, parse_documents


def _override_file(settings: Settings, name: str) -> Path:
    folders = [p for p in settings.remediator.playbook_paths if p.is_dir()]
    if not folders:
        raise ConfigError(
            "a built-in playbook is changed by an override file; add a folder to remediator.playbook_paths "
            "(HEALER_REMEDIATOR__PLAYBOOK_PATHS) and edit again",
            field="remediator.playbook_paths",
        )
    return folders[0] / f"{name}.yaml"


def _rewrite_file(path: Path, name: str, document: dict[str, Any]) -> None:
    documents = parse_documents(path.read_text(), str(path))
    replaced = [document if (d.get("metadata") or {}).get("name") == name else d for d in documents]
    path.write_text(yaml.safe_dump_all(replaced, sort_keys=False))


async def _patch_resource(settings: Settings, source: str, document: dict[str, Any]) -> None:
    api = api_client(settings.cluster)
    if api is None:
        raise ConfigError("the playbook lives in the cluster, but no cluster is configured", field="cluster.kubeconfig")
    namespace, name = source.removeprefix("cluster:").split("/", 1)
    custom = client.CustomObjectsApi(api)
    current = await kube(custom.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name)
    written = {k: current[k] for k in ("apiVersion", "kind", "spec") if k in current}
    patch = merge_patch(written, {k: document[k] for k in ("apiVersion", "kind", "spec")})
    await kube(
        custom.patch_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name, patch, _content_type=MERGE_PATCH
    )


async def save_edit(settings: Settings, original: Playbook, edited: Playbook) -> str:
    """Save the edited playbook where it belongs; where that is."""
    document = edited.document
    if original.source.startswith("cluster:"):
        await _patch_resource(settings, original.source, document)
        return original.source
    if original.source == BUILTIN:
        path = _override_file(settings, original.name)
        await asyncio.to_thread(path.write_text, yaml.safe_dump(document, sort_keys=False))
        return str(path)
    path = Path(original.source)
    await asyncio.to_thread(_rewrite_file, path, original.name, document)
    return str(path)
