"""The remediator's deploy files agree with its code: the CRDs name the group and plurals the code reads and
writes, the base installs them, and every sample playbook passes the validator operators will meet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters import playbook_sources, records
from services.remediator.playbooks import compile_text

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SAMPLES = sorted((DEPLOY / "samples" / "playbooks").glob("*.yaml"))


def crd(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "base" / "crds" / f"{name}.yaml").read_text())
    return document


@pytest.mark.parametrize(
    ("file", "group", "plural", "kind"),
    [
        ("remediationplaybooks", playbook_sources.GROUP, playbook_sources.PLURAL, "RemediationPlaybook"),
        ("remediationrecords", records.GROUP, records.PLURAL, records.KIND),
    ],
)
def test_each_crd_serves_what_the_remediator_reads_and_writes(file: str, group: str, plural: str, kind: str) -> None:
    spec = crd(file)["spec"]

    assert (spec["group"], spec["names"]["plural"], spec["names"]["kind"]) == (group, plural, kind)
    assert [v["name"] for v in spec["versions"] if v["served"]] == ["v1"]


def test_the_base_installs_both_crds() -> None:
    kustomization = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text())

    assert {"crds/remediationplaybooks.yaml", "crds/remediationrecords.yaml"} <= set(kustomization["resources"])


def test_the_playbook_crd_requires_what_the_validator_requires() -> None:
    schema = crd("remediationplaybooks")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

    assert schema["properties"]["spec"]["required"] == ["trigger", "actions"]
    action_type = schema["properties"]["spec"]["properties"]["actions"]["items"]["properties"]["type"]
    assert set(action_type["enum"]) == set(CATALOGUE)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_playbook_is_valid(sample: Path) -> None:
    assert compile_text(sample.read_text(), CATALOGUE, str(sample))


def test_there_are_samples_to_learn_from() -> None:
    assert len(SAMPLES) >= 3


@pytest.mark.parametrize("file", ["remediationplaybooks", "remediationrecords"])
def test_no_crd_field_is_left_empty_by_a_stray_comma(file: str) -> None:
    def empty(node: Any, path: str) -> list[str]:
        if isinstance(node, dict):
            return [p for k, v in node.items() for p in ([f"{path}.{k}"] if v is None else empty(v, f"{path}.{k}"))]
        if isinstance(node, list):
            return [p for i, v in enumerate(node) for p in empty(v, f"{path}[{i}]")]
        return []

    assert empty(crd(file), file) == []
