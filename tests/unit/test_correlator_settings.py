"""The correlator's settings: working defaults, and bad inhibition rules refused at load with the field and
the reason."""

from __future__ import annotations

import pytest

from healer_common.errors import ConfigError
from healer_common.settings import load_settings


def test_the_default_inhibition_rules_mute_pods_of_a_not_ready_node_and_the_backlog_of_a_failing_database() -> None:
    rules = load_settings().correlator.inhibit_rules
    node = {"alertname": "MemoryPressure", "alert_id": "H8", "reason": "NotReady", "node": "n1", "cluster": "default"}
    pod = {"alertname": "PodFailure", "alert_id": "A7", "pod": "p1", "node": "n1", "cluster": "default"}
    database = {"alertname": "DatabaseHealth", "alert_id": "H6", "namespace": "shop", "cluster": "default"}
    backlog = {"alertname": "QueueBacklog", "alert_id": "H7", "namespace": "shop", "cluster": "default"}

    assert any(r.inhibits(node, pod) for r in rules)
    assert not any(r.inhibits(node, {**pod, "node": "n2"}) for r in rules)
    assert any(r.inhibits(database, backlog) for r in rules)


def test_a_rule_with_a_bad_matcher_is_refused_naming_the_rule_and_the_matcher() -> None:
    bad = {"name": "typo", "source_matchers": ["reason~NotReady"], "target_matchers": ['pod=~".+"']}

    with pytest.raises(ConfigError) as refused:
        load_settings(correlator={"inhibit_rules": [bad]})

    assert "correlator.inhibit_rules.0.source_matchers.0" in str(refused.value)
    assert "bad matcher 'reason~NotReady'" in str(refused.value)


def test_a_rule_without_targets_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"correlator\.inhibit_rules\.0\.target_matchers"):
        load_settings(correlator={"inhibit_rules": [{"name": "x", "source_matchers": ["a=b"], "target_matchers": []}]})


def test_an_unknown_topology_label_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"correlator\.topology\.0"):
        load_settings(correlator={"topology": ["rack"]})
