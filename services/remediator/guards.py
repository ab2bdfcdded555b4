"""What Healer never touches, judged on every object an action would change: its own namespace, namespaces
denied (or not allowed) by config, platform infrastructure (name prefixes), and anything carrying the protect
label (`healer.platform/exclude=true`). A refusal is a reason string, audited by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from healer_common.contract.events import ResourceRef
from healer_common.settings import RemediatorSettings


@dataclass(frozen=True)
class GuardPolicy:
    own_namespace: str
    protected_name_prefixes: tuple[str, ...]
    exclude_label: str
    namespace_allow: tuple[str, ...] = ()
    namespace_deny: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, cfg: RemediatorSettings, own_namespace: str) -> GuardPolicy:
        return cls(
            own_namespace=own_namespace,
            protected_name_prefixes=tuple(cfg.protected_name_prefixes),
            exclude_label=cfg.exclude_label,
            namespace_allow=tuple(cfg.namespace_allow),
            namespace_deny=tuple(cfg.namespace_deny),
        )


def refusal(target: ResourceRef, labels: dict[str, str], policy: GuardPolicy) -> str | None:
    """Why Healer must not act on `target`, or None when it may."""
    namespace = target.namespace
    if namespace == policy.own_namespace:
        return f"{target} is in Healer's own namespace {policy.own_namespace!r}"
    if namespace is not None and namespace in policy.namespace_deny:
        return f"{target} is in namespace {namespace!r}, which remediator.namespace_deny lists"
    if namespace is not None and policy.namespace_allow and namespace not in policy.namespace_allow:
        return f"{target} is in namespace {namespace!r}, which remediator.namespace_allow does not list"
    for prefix in policy.protected_name_prefixes:
        if target.name.startswith(prefix):
            return f"{target} is platform infrastructure (name prefix {prefix!r})"
    if labels.get(policy.exclude_label, "").lower() == "true":
        return f"{target} is labelled {policy.exclude_label}=true"
    return None
