"""The RemediationPlaybook format: what loads, what is refused (with the field and the reason), and the
built-ins, which must answer every alert in the catalogue."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from healer_common.contract.alerts import CATALOGUE as ALERTS
from healer_common.errors import ConfigError
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.playbook_sources import builtin_playbooks
from services.remediator.playbooks import compile_playbook, compile_text

OOM: dict[str, Any] = {
    "apiVersion": "healer.platform/v1",
    "kind": "RemediationPlaybook",
    "metadata": {"name": "oom"},
    "spec": {
        "trigger": {"alerts": ["H8"], "targetKinds": ["Pod"]},
        "actions": [
            {"type": "restart_pod", "timeout": "2m", "retry": {"attempts": 2, "backoff": "10s"}},
            {"type": "scale_up", "condition": "restart_failed", "params": {"by": 2, "maxReplicas": 4}},
        ],
        "rollback": {"enabled": True, "window": "10m"},
    },
}


def doc(**spec_changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(OOM)
    document["spec"].update(spec_changes)
    return document


def rejection(document: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        compile_playbook(document, CATALOGUE, "oom.yaml")
    return caught.value


def test_a_playbook_in_the_seed_format_loads_with_its_actions_resolved() -> None:
    playbook = compile_playbook(OOM, CATALOGUE, "oom.yaml")

    restart, scale = playbook.actions
    assert (restart.name, restart.timeout_s, restart.attempts, restart.backoff_s) == ("restart", 120.0, 2, 10.0)
    assert (scale.name, scale.condition, scale.params) == ("scale", "restart_failed", {"by": 2, "maxReplicas": 4})
    assert scale.reversal == "temporary"
    assert not restart.needs_approval
    assert playbook.rollback.window == 600.0
    assert playbook.source == "oom.yaml"


def test_an_approval_required_action_always_needs_approval_and_a_safe_one_can_ask_for_it() -> None:
    playbook = compile_playbook(
        doc(actions=[{"type": "rollback_deployment"}, {"type": "restart_pod", "requireApproval": True}]),
        CATALOGUE,
        "x.yaml",
    )

    assert [a.needs_approval for a in playbook.actions] == [True, True]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"actions": [{"type": "reboot_cluster"}]}, "spec.actions[0].type", "unknown action type 'reboot_cluster'"),
        ({"actions": [{"type": "scale_up", "params": {"by": 0}}]}, "spec.actions[0].params.by", "greater than"),
        ({"actions": [{"type": "scale_up", "params": {"count": 3}}]}, "spec.actions[0].params.count", "Extra"),
        (
            {"actions": [{"type": "restart_pod"}, {"type": "scale_up", "condition": "drain_failed"}]},
            "spec.actions[1].condition",
            "'drain', which is not an earlier action",
        ),
        ({"actions": [{"type": "restart_pod", "condition": "maybe"}]}, "spec.actions[0].condition", "must be `always`"),
        ({"actions": [{"type": "restart_pod", "timeout": "soon"}]}, "spec.actions[0].timeout", "not a duration"),
        ({"actions": []}, "spec.actions", "at least 1"),
        ({"trigger": {"alerts": ["h8"]}}, "spec.trigger.alerts", "not an alert id"),
        ({"rollback": {"enabled": True, "window": 0}}, "spec.rollback.window", "positive"),
        (
            {"actions": [{"type": "clear_temp_files", "params": {"paths": ["../etc"]}}]},
            "spec.actions[0].params.paths",
            "inside the volume",
        ),
        (
            {"actions": [{"type": "restart_pod"}, {"type": "restart_pod"}]},
            "spec.actions[1].name",
            "two actions are named 'restart'",
        ),
    ],
)
def test_a_bad_playbook_is_refused_naming_the_field_and_the_reason(
    change: dict[str, Any], field: str, reason: str
) -> None:
    error = rejection(doc(**change))

    assert error.field == field
    assert reason in str(error)
    assert "oom.yaml" in str(error)


def test_playbook_durations_are_written_as_everywhere_else_in_healer() -> None:
    playbook = compile_playbook(doc(rollback={"enabled": True, "window": "1d2h"}), CATALOGUE, "x.yaml")

    assert playbook.rollback.window == 93_600.0


def test_a_document_of_another_kind_is_refused_at_its_kind() -> None:
    error = rejection({**OOM, "kind": "Deployment"})

    assert error.field == "kind"


def test_one_bad_document_in_a_file_rejects_the_file_and_names_the_document() -> None:
    bad = doc(actions=[{"type": "nope"}])
    bad["metadata"] = {"name": "second"}
    text = yaml.safe_dump_all([OOM, bad])

    with pytest.raises(ConfigError, match=r"playbooks.yaml, document 2"):
        compile_text(text, CATALOGUE, "playbooks.yaml")


def test_two_playbooks_with_one_name_in_a_file_are_refused() -> None:
    with pytest.raises(ConfigError, match="playbook names repeat: oom"):
        compile_text(yaml.safe_dump_all([OOM, OOM]), CATALOGUE, "playbooks.yaml")


def test_the_builtin_playbooks_answer_every_alert_in_the_catalogue() -> None:
    playbooks = builtin_playbooks(CATALOGUE)

    covered = {alert for p in playbooks for alert in p.trigger.alerts}
    assert covered == set(ALERTS)
    assert all(p.source == "builtin" for p in playbooks)


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.lists(st.text(max_size=3), max_size=2)
)
_paths = [
    ("spec", "trigger", "alerts"),
    ("spec", "actions", 0, "type"),
    ("spec", "actions", 0, "timeout"),
    ("spec", "actions", 1, "condition"),
    ("spec", "actions", 1, "params", "by"),
    ("spec", "rollback", "window"),
    ("metadata", "name"),
    ("apiVersion",),
]


@settings(max_examples=200, deadline=None)
@given(path=st.sampled_from(_paths), value=_values)
def test_any_mangled_field_either_loads_or_is_refused_with_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    document = copy.deepcopy(OOM)
    node: Any = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value

    try:
        playbook = compile_playbook(document, CATALOGUE, "fuzz.yaml")
    except ConfigError as exc:
        error: ConfigError | None = exc
    else:
        error = None
        assert playbook.actions, "a playbook that loads has actions"
    if error is not None:
        assert error.field, f"a refusal must name its field: {error}"
        assert "fuzz.yaml" in str(error)


@settings(max_examples=100, deadline=None)
@given(
    types=st.lists(st.sampled_from(sorted(CATALOGUE)), min_size=1, max_size=5, unique=True),
    failed=st.booleans(),
)
def test_any_chain_of_actions_conditioned_on_the_one_before_loads(types: list[str], failed: bool) -> None:
    actions: list[dict[str, Any]] = []
    params = {"database_failover": {"database": "orders"}, "disable_feature_flag": {"flag": "checkout"}}
    for i, kind in enumerate(types):
        action: dict[str, Any] = {"type": kind, "params": params.get(kind, {})}
        if i:
            action["condition"] = f"{CATALOGUE[types[i - 1]].verb}_{'failed' if failed else 'succeeded'}"
        actions.append(action)

    any_target = {"alerts": ["H8"]}  # no targetKinds: each action's own kinds are checked separately
    playbook = compile_playbook(doc(actions=actions, trigger=any_target), CATALOGUE, "chain.yaml")

    assert [a.type for a in playbook.actions] == types
    assert [a.needs_approval for a in playbook.actions] == [not CATALOGUE[t].safe for t in types]


def test_a_playbook_that_only_tells_the_incident_again_is_known_as_such() -> None:
    """The remediator does not start those (the incident's notification said it), so one alert of a storm is not
    two messages; a notify with words of its own, a channel step, or anything that acts still runs."""

    def playbook(*actions: dict[str, Any]) -> bool:
        return compile_playbook(doc(actions=list(actions)), CATALOGUE, "p.yaml").only_retells

    external = next(p for p in builtin_playbooks(CATALOGUE) if p.name == "external-alert")

    assert external.only_retells
    assert playbook({"type": "notify"}, {"type": "notify", "name": "again"})
    assert not playbook({"type": "notify", "params": {"message": "{title}: seen before, see the runbook"}})
    assert not playbook({"type": "notify"}, {"type": "restart_pod"})
    assert not playbook({"type": "restart_pod"}, {"type": "notify", "condition": "restart_failed"})
    assert not any(p.only_retells for p in builtin_playbooks(CATALOGUE) if p.name != "external-alert")
