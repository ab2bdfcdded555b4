"""What Healer never touches: its own namespace, platform infrastructure (name prefixes), and anything
labelled `healer.platform/exclude=true`. A refusal is a reason string, audited by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from healer_common.events import ResourceRef


@dataclass(frozen=True)
class GuardPolicy:
    own_namespace: str
    protected_name_prefixes: tuple[str, ...]
    exclude_label: str


def refusal(target: ResourceRef, labels: dict[str, str], policy: GuardPolicy) -> str | None:
    """Why Healer must not act on `target`, or None when it may."""
    if target.namespace == policy.own_namespace:
        return f"{target} is in Healer's own namespace {policy.own_namespace!r}"
    for prefix in policy.protected_name_prefixes:
        if target.name.startswith(prefix):
            return f"{target} is platform infrastructure (name prefix {prefix!r})"
    if labels.get(policy.exclude_label, "").lower() == "true":
        return f"{target} is labelled {policy.exclude_label}=true"
    return None
