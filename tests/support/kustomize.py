"""Just enough of kustomize to render deploy/k8s for tests (kustomize itself is in neither Debian nor PyPI):
resources (files and folders), the namespace, common labels, replicas, config map and secret generators (named
without their hash), and strategic-merge patches (dicts merged, lists of named items merged by name) aimed at a
kind with a label selector or a name. Enough for the checks made here; `kubectl kustomize` remains the truth.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge as kustomize does it for the shapes used here."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i for i in patch):
        merged_list = [dict(i) for i in base]
        names = [i.get("name") for i in merged_list]
        for item in patch:
            if item["name"] in names:
                index = names.index(item["name"])
                merged_list[index] = merge(merged_list[index], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _selected(obj: Obj, target: Obj) -> bool:
    if target.get("kind") and obj["kind"] != target["kind"]:
        return False
    if target.get("name") and obj["metadata"]["name"] != target["name"]:
        return False
    selector = target.get("labelSelector")
    if not selector:
        return True
    labels = obj["metadata"].get("labels") or {}
    if " in (" in selector:
        key, values = selector.split(" in (", 1)
        return labels.get(key.strip()) in {v.strip() for v in values.rstrip(")").split(",")}
    key, value = selector.split("=", 1)
    return bool(labels.get(key) == value)


def _generated(kind: str, spec: Obj, folder: Path) -> Obj:
    data: dict[str, str] = {}
    for literal in spec.get("literals", []):
        key, value = literal.split("=", 1)
        data[key] = value
    for entry in spec.get("files", []):
        key, _, file = entry.partition("=")
        path = folder / (file or key)
        data[path.name if not file else key] = path.read_text() if path.exists() else ""
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": spec["name"]}, "data": data}


def render(folder: Path) -> list[Obj]:
    """The objects `kubectl kustomize folder` would print (without generator hashes)."""
    spec: Obj = yaml.safe_load((folder / "kustomization.yaml").read_text())
    objects: list[Obj] = []
    for entry in [*spec.get("resources", []), *spec.get("components", [])]:
        path = folder / entry
        if path.is_dir():
            objects += render(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in spec.get(key, []):
            made = _generated(kind, generator, folder)
            found = next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == generator["name"]), None)
            if found is not None and generator.get("behavior") == "merge":
                found["data"] = {**found.get("data", {}), **made["data"]}
            else:
                objects.append(made)
    for patch in spec.get("patches", []):
        for body in yaml.safe_load_all((folder / patch["path"]).read_text()):
            target = patch.get("target", {"kind": body["kind"], "name": body["metadata"]["name"]})
            for index, obj in enumerate(objects):
                if _selected(obj, target):
                    body_for = {**body, "metadata": {**body.get("metadata", {}), "name": obj["metadata"]["name"]}}
                    objects[index] = merge(obj, body_for)
    for replicas in spec.get("replicas", []):
        for obj in objects:
            if obj["metadata"]["name"] == replicas["name"] and obj["kind"] in {"Deployment", "StatefulSet"}:
                obj["spec"]["replicas"] = replicas["count"]
    if namespace := spec.get("namespace"):
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    return objects
