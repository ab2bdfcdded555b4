"""RBAC as data, for the least-privilege test and the RBAC table in docs/security.md: a request to the Kubernetes
API as the (apiGroup, resource, verb, namespace) that authorises it, and what a ServiceAccount is granted by the
rendered manifests (ClusterRoles through ClusterRoleBindings everywhere, Roles and ClusterRoles through RoleBindings in
their namespace).

    python -m tests.support.rbac --write docs/security.md   regenerate the table (make format)
    python -m tests.support.rbac --check docs/security.md   fail when it is stale (make lint)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.kustomize import render

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
START = "<!-- rbac:start (generated from deploy/k8s by `python -m tests.support.rbac --write docs/security.md`) -->"
END = "<!-- rbac:end -->"
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True)
class Call:
    group: str
    resource: str  # with its subresource: pods/eviction
    verb: str
    namespace: str | None

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource}{where}"


def call_of(method: str, path: str, query: dict[str, str]) -> Call | None:
    """The RBAC question a request asks; None for discovery (`/api`, `/apis/apps/v1`), which every account may."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) > 2:
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    if method == "GET":
        verb = "get" if named else ("watch" if query.get("watch", "").lower() in {"true", "1"} else "list")
    elif method == "DELETE":
        verb = "delete" if named else "deletecollection"
    else:
        verb = VERBS[method]
    return Call(group, resource, verb, namespace)


@dataclass(frozen=True)
class Grant:
    group: str
    resource: str
    verb: str
    namespace: str | None  # None: every namespace (and cluster-scoped objects)
    source: str  # the (Cluster)Role and binding that grant it

    def allows(self, call: Call) -> bool:
        scoped = self.namespace is None or self.namespace == call.namespace
        return (self.group, self.resource, self.verb) == (call.group, call.resource, call.verb) and scoped


def _rules(objects: list[dict[str, Any]], kind: str, name: str, namespace: str | None) -> list[dict[str, Any]]:
    for obj in objects:
        meta = obj["metadata"]
        if (
            obj["kind"] == kind
            and meta["name"] == name
            and (kind == "ClusterRole" or meta.get("namespace") == namespace)
        ):
            rules: list[dict[str, Any]] = obj.get("rules", [])
            return rules
    raise AssertionError(f"{kind} {name} is bound but not defined")


def grants(objects: list[dict[str, Any]], account: str, home: str = "healer") -> list[Grant]:
    """Everything ServiceAccount `home/account` may do according to `objects`."""
    found: list[Grant] = []
    for binding in objects:
        if binding["kind"] not in {"ClusterRoleBinding", "RoleBinding"}:
            continue
        subjects = binding.get("subjects", [])
        if not any(
            s["kind"] == "ServiceAccount" and (s["name"], s.get("namespace")) == (account, home) for s in subjects
        ):
            continue
        where = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role = binding["roleRef"]
        source = f"{role['kind']} {role['name']}"
        for rule in _rules(objects, role["kind"], role["name"], where):
            found += [
                Grant(group, resource, verb, where, source)
                for group in rule["apiGroups"]
                for resource in rule["resources"]
                for verb in rule["verbs"]
            ]
    return found


def accounts(objects: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"]


def table() -> str:
    """The RBAC table of docs/security.md: every ServiceAccount of the base and the opt-in grants, verb by verb."""
    objects = render(DEPLOY / "base")
    optional = {path.name: render(path) for path in sorted((DEPLOY / "optional").iterdir())}
    lines = [
        "| ServiceAccount | API group | resource | verbs | where | granted by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for account in accounts(objects):
        sets = [("", grants(objects, account))] + [
            (f" (opt-in: optional/{n})", grants(o, account)) for n, o in optional.items()
        ]
        rows: dict[tuple[str, str, str, str], list[str]] = {}
        for note, found in sets:
            for grant in found:
                key = (grant.group or "core", grant.resource, grant.namespace or "all namespaces", grant.source + note)
                rows.setdefault(key, []).append(grant.verb)
        if not rows:
            lines.append(f"| `{account}` | - | - | none: no Kubernetes access, no token mounted | - | - |")
        for (group, resource, where, source), verbs in rows.items():
            lines.append(f"| `{account}` | {group} | {resource} | {', '.join(verbs)} | {where} | {source} |")
    return "\n".join(lines)


def _replaced(document: str) -> str:
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--check", type=Path)
    args = parser.parse_args(argv)
    path: Path = args.write or args.check
    before = path.read_text()
    after = _replaced(before)
    if args.write:
        path.write_text(after)
        return 0
    if after != before:
        print(f"the RBAC table in {path} is stale: python -m tests.support.rbac --write {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
