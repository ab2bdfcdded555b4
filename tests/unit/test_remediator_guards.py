"""What Healer never touches: its own namespace, platform infrastructure, and pods that opt out by label."""

from __future__ import annotations

import pytest

from healer_common.contract.events import ResourceRef
from healer_common.settings import RemediatorSettings
from services.remediator.guards import GuardPolicy, refusal
from tests.support.samples import pod

DEFAULTS = RemediatorSettings()
POLICY = GuardPolicy(
    own_namespace="healer",
    protected_name_prefixes=tuple(DEFAULTS.protected_name_prefixes),
    exclude_label=DEFAULTS.exclude_label,
)


def test_an_ordinary_agent_pod_may_be_acted_on() -> None:
    assert refusal(pod("rex-1", "cto"), {"agent": "5DLabs-Rex"}, POLICY) is None


def test_a_pod_in_healers_own_namespace_is_refused() -> None:
    reason = refusal(pod("worker-1", "healer"), {}, POLICY)

    assert reason == "pod healer/worker-1 is in Healer's own namespace 'healer'"


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("healer-detector-0", "healer"),
        ("cto-tools-7d9f", "cto-tools"),
        ("cto-controller-manager", "cto-controller"),
        ("openmemory-0", "openmemory"),
        ("nats-1", "nats"),
        ("redis-master-0", "redis"),
    ],
)
def test_platform_infrastructure_is_refused_by_name_prefix(name: str, prefix: str) -> None:
    reason = refusal(pod(name, "cto"), {}, POLICY)

    assert reason == f"pod cto/{name} is platform infrastructure (name prefix {prefix!r})"


def test_a_name_that_merely_contains_a_protected_prefix_is_not_refused() -> None:
    assert refusal(pod("rex-healer-1", "cto"), {}, POLICY) is None


@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
def test_a_pod_labelled_exclude_true_is_refused(value: str) -> None:
    reason = refusal(pod("rex-1", "cto"), {"healer.platform/exclude": value}, POLICY)

    assert reason == "pod cto/rex-1 is labelled healer.platform/exclude=true"


@pytest.mark.parametrize("value", ["false", "", "yes"])
def test_an_exclude_label_other_than_true_does_not_protect(value: str) -> None:
    assert refusal(pod("rex-1", "cto"), {"healer.platform/exclude": value}, POLICY) is None


def test_the_guards_follow_the_configured_policy() -> None:
    policy = GuardPolicy(own_namespace="ops", protected_name_prefixes=("kube-",), exclude_label="example.com/hands-off")

    assert refusal(pod("rex-1", "ops"), {}, policy) is not None
    assert refusal(pod("kube-proxy-x", "kube-system"), {}, policy) is not None
    assert refusal(pod("rex-1", "cto"), {"example.com/hands-off": "true"}, policy) is not None
    assert refusal(pod("healer-0", "cto"), {"healer.platform/exclude": "true"}, policy) is None


def test_a_cluster_scoped_target_is_judged_by_name_and_labels() -> None:
    node = ResourceRef(kind="Node", name="n1")

    assert refusal(node, {}, POLICY) is None
    assert (
        refusal(node, {"healer.platform/exclude": "true"}, POLICY) == "node n1 is labelled healer.platform/exclude=true"
    )


def test_a_namespace_on_the_deny_list_is_refused() -> None:
    policy = GuardPolicy("healer", (), "healer.platform/exclude", namespace_deny=("kube-system",))

    assert refusal(pod("coredns-1", "kube-system"), {}, policy) == (
        "pod kube-system/coredns-1 is in namespace 'kube-system', which remediator.namespace_deny lists"
    )
    assert refusal(pod("rex-1", "cto"), {}, policy) is None


def test_with_an_allow_list_only_its_namespaces_may_be_acted_on() -> None:
    policy = GuardPolicy("healer", (), "healer.platform/exclude", namespace_allow=("cto", "apps"))

    assert refusal(pod("rex-1", "cto"), {}, policy) is None
    assert refusal(pod("web-1", "shop"), {}, policy) == (
        "pod shop/web-1 is in namespace 'shop', which remediator.namespace_allow does not list"
    )
    assert refusal(ResourceRef(kind="Node", name="n1"), {}, policy) is None, "cluster-scoped objects have no namespace"


def test_healers_own_namespace_is_refused_even_when_allowed() -> None:
    policy = GuardPolicy("healer", (), "healer.platform/exclude", namespace_allow=("healer",))

    assert refusal(pod("worker-1", "healer"), {}, policy) is not None
