"""Scenarios as their authors meet them: the built-in ones load and between them play H1 to H8; a mistake in
a scenario file is refused at load with the file, the field and the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from healer_common.errors import ConfigError
from healer_sandbox import scenario
from healer_sandbox.scenario import ScenarioError

GOOD = """
name: my-leak
summary: a test leak
deployments:
  - {name: api, namespace: shop, image: shop/api:1}
plays:
  - memory_leak: {deployment: shop/api, start: 0.5, per_minute: 0.1}
"""


def test_every_built_in_scenario_loads_and_together_they_play_h1_to_h8() -> None:
    chosen = scenario.load([])
    assert {s.name for s in chosen} == set(scenario.builtin_files())
    assert len(chosen) >= 8
    played = {alert for s in chosen for alert in s.alerts}
    assert played >= {f"H{i}" for i in range(1, 9)}
    assert scenario.base_cluster().nodes, "the base cluster has nodes for the scenarios to run on"


def test_a_scenario_is_chosen_by_name_or_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    chosen = scenario.load(["leaking-pod", str(path)])
    assert [s.name for s in chosen] == ["leaking-pod", "my-leak"]


def test_an_unknown_scenario_lists_the_ones_there_are() -> None:
    with pytest.raises(ScenarioError, match=r"no scenario 'nope'.*leaking-pod") as refused:
        scenario.load(["nope"])
    assert isinstance(refused.value, ConfigError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("per_minute: 0.1", "per_minute: -1"),
            r"plays\[0\]\.memory_leak\.per_minute: Input should be greater than 0 \(got -1\)",
        ),
        (("memory_leak:", "memroy_leak:"), r"plays\[0\]\.memroy_leak: Extra inputs are not permitted"),
        (("deployment: shop/api,", "deployment: shop/web,"), r"shop/web is not declared in this scenario"),
        (
            ("image: shop/api:1}", "image: shop/api:1, replicas: many}"),
            r"deployments\[0\]\.replicas: Input should be a valid integer",
        ),
        (("name: my-leak", "name: My Leak"), r"name: String should match pattern"),
        (("summary: a test leak\n", ""), r"summary: Field required"),
    ],
)
def test_a_mistake_is_refused_with_the_field_and_the_reason(change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(ScenarioError, match=message) as refused:
        scenario.parse(text, "my-leak.yaml")
    assert "my-leak.yaml" in str(refused.value)


def test_a_gauge_must_name_a_known_signal_with_its_labels() -> None:
    text = GOOD.replace(
        "memory_leak: {deployment: shop/api, start: 0.5, per_minute: 0.1}",
        "gauge: {signal: queue_depth, labels: {namespace: shop}, start: 1}",
    )
    with pytest.raises(ScenarioError, match=r"plays\[0\]\.gauge: labels lack queue, which signal queue_depth carries"):
        scenario.parse(text, "q.yaml")
    unknown = text.replace("signal: queue_depth", "signal: queue_length")
    with pytest.raises(ScenarioError, match=r"'queue_length' is not in healer_common\.contract\.signals\.METRICS"):
        scenario.parse(unknown, "q.yaml")


def test_durations_and_quantities_are_read_in_their_usual_units() -> None:
    plan = scenario.parse(
        GOOD.replace("image: shop/api:1}", "image: shop/api:1, memory_limit: 1Gi}")
        + "  - rollout: {deployment: shop/api, at: 2m30s, image: shop/api:2}\n",
        "x.yaml",
    )
    assert plan.deployments[0].memory_limit == 2**30
    assert plan.plays[1].play.at == 150  # type: ignore[attr-defined]


def test_not_yaml_and_not_a_mapping_are_refused_plainly() -> None:
    with pytest.raises(ScenarioError, match="not valid YAML"):
        scenario.parse("name: [unclosed", "bad.yaml")
    with pytest.raises(ScenarioError, match="a scenario is a YAML mapping"):
        scenario.parse("- just a list", "bad.yaml")


def test_the_documented_example_scenario_is_a_valid_scenario() -> None:
    readme = (Path(__file__).parents[2] / "docs" / "sandbox.md").read_text()
    section = readme[readme.index("**Adding a scenario**") :]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    plan = scenario.parse(example.group(1), "docs/sandbox.md")
    assert {next(iter(p.model_fields_set)) for p in plan.plays} == set(scenario.PlayEntry.model_fields)
