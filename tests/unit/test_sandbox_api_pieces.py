"""The sandbox API's pure parts as an API client meets them: quantities as written in manifests, label and
field selectors as kubectl sends them, and the three patch formats."""

from __future__ import annotations

from typing import Any

import pytest

from healer_sandbox.patching import PatchError, apply_patch, merge_patch, strategic_merge
from healer_sandbox.selectors import SelectorError, field_matcher, label_matcher
from healer_sandbox.units import format_bytes, parse_quantity

POD = {
    "metadata": {"name": "rex-1", "namespace": "cto", "labels": {"app": "rex", "tier": "agents"}},
    "spec": {"nodeName": "node-1", "unschedulable": False},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("text", "value"),
    [("512Mi", 512 * 2**20), ("20Gi", 20 * 2**30), ("250m", 0.25), ("2", 2.0), ("1.5G", 1.5e9)],
)
def test_quantities_read_as_kubernetes_writes_them(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_bytes_print_with_the_largest_binary_suffix() -> None:
    assert format_bytes(512 * 2**20) == "512Mi"
    assert format_bytes(50 * 2**30) == "50Gi"
    assert format_bytes(1000) == "1000"


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=rex", True),
        ("app==rex,tier=agents", True),
        ("app!=rex", False),
        ("tier in (agents, infra)", True),
        ("tier notin (agents)", False),
        ("app", True),
        ("!missing", True),
        ("!app", False),
        ("", True),
    ],
)
def test_label_selectors_match_as_the_api_server_does(selector: str, matches: bool) -> None:
    assert label_matcher(selector)(POD) is matches


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=rex-1", True),
        ("spec.nodeName=node-2", False),
        ("status.phase!=Pending,metadata.namespace=cto", True),
        ("spec.unschedulable=false", True),
        ("spec.missing=", True),
    ],
)
def test_field_selectors_match_dotted_paths(selector: str, matches: bool) -> None:
    assert field_matcher(selector)(POD) is matches


def test_a_broken_selector_is_refused_with_the_requirement_named() -> None:
    with pytest.raises(SelectorError, match="in \\(a"):
        label_matcher("app in (a")
    with pytest.raises(SelectorError, match="path=value"):
        field_matcher("spec.nodeName")


def test_merge_patch_merges_objects_replaces_lists_and_removes_nulls() -> None:
    target: dict[str, Any] = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"ports": [1, 2]}}
    patched = merge_patch(target, {"metadata": {"labels": {"b": None, "c": "3"}}, "spec": {"ports": [3]}})
    assert patched == {"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"ports": [3]}}
    assert target["metadata"]["labels"] == {"a": "1", "b": "2"}, "the stored object is never changed in place"


def test_strategic_merge_patch_merges_containers_by_name_like_kubectl_set_image() -> None:
    template = {
        "containers": [
            {"name": "app", "image": "v1", "env": [{"name": "A", "value": "1"}]},
            {"name": "side", "image": "s"},
        ]
    }
    patched = strategic_merge(template, {"containers": [{"name": "app", "image": "v2"}]})
    assert patched["containers"][0] == {"name": "app", "image": "v2", "env": [{"name": "A", "value": "1"}]}
    assert patched["containers"][1] == {"name": "side", "image": "s"}


def test_strategic_merge_patch_honours_replace_and_delete_directives() -> None:
    spec = {"template": {"labels": {"a": "1"}, "containers": [{"name": "app"}, {"name": "old"}]}}
    replaced = strategic_merge(spec, {"template": {"$patch": "replace", "containers": [{"name": "new"}]}})
    assert replaced == {"template": {"containers": [{"name": "new"}]}}
    pruned = strategic_merge(spec, {"template": {"containers": [{"name": "old", "$patch": "delete"}]}})
    assert pruned["template"]["containers"] == [{"name": "app"}]


def test_json_patch_applies_operations_and_a_failed_test_is_unprocessable() -> None:
    patched = apply_patch(
        POD,
        [{"op": "replace", "path": "/spec/nodeName", "value": "node-2"}],
        "application/json-patch+json",
        builtin=True,
    )
    assert patched["spec"]["nodeName"] == "node-2"
    with pytest.raises(PatchError) as refused:
        apply_patch(
            POD,
            [{"op": "test", "path": "/status/phase", "value": "Failed"}],
            "application/json-patch+json",
            builtin=True,
        )
    assert refused.value.status == 422


def test_custom_resources_refuse_strategic_merge_as_a_real_api_server_does() -> None:
    with pytest.raises(PatchError) as refused:
        apply_patch({}, {"spec": {}}, "application/strategic-merge-patch+json", builtin=False)
    assert refused.value.status == 415
    assert apply_patch({"a": 1}, {"b": 2}, "application/merge-patch+json", builtin=False) == {"a": 1, "b": 2}
