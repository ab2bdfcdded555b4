"""The catalogue cannot drift from what Healer does: every id has a rule (or says who provides it), every
collected signal is judged by a rule (or says why it is context only), and every built-in playbook's trigger
is something a rule can raise, on a kind of target the rule's alerts can have.

An id provided by the GitHub source is `status: pending` until its rules exist; when they land, flipping it to
`provided_by: detector` with its `rule` makes this test hold it to the rule like every other id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import import_module

import pytest

from healer_common.contract.catalogue import CATALOGUE, load_catalogue, metric_alerts
from healer_common.contract.signals import CONDITIONS, METRICS
from healer_common.settings.detector import DetectorSettings
from services.detector import rules as rule_package
from services.detector.rules.model import ConditionRule, MetricRule, WorkflowRule
from services.detector.series import resource_of
from services.remediator.actions.catalogue import CATALOGUE as ACTIONS
from services.remediator.adapters.playbook_sources import builtin_playbooks
from services.remediator.playbooks import Playbook

ANY_KIND = "*"


Rule = ConditionRule | MetricRule | WorkflowRule


def _rules_of(module_name: str) -> tuple[Rule, ...]:
    rules: tuple[Rule, ...] = import_module(f"services.detector.rules.{module_name}").RULES
    return rules


def _rule_modules() -> Iterator[str]:
    return (m.__name__.rsplit(".", 1)[1] for m in rule_package._MODULES)


def _signals_read(rules: tuple[Rule, ...]) -> set[str]:
    return {r.metric for r in rules if isinstance(r, MetricRule)} | {
        reason for r in rules if isinstance(r, ConditionRule | WorkflowRule) for reason in r.reasons
    }


def _kinds_raised(alert_id: str) -> set[str]:
    """The kinds of target this id's alerts can have."""
    entry = CATALOGUE[alert_id]
    if entry.provided_by != "detector" or entry.rule is None:
        return {ANY_KIND}
    kinds: set[str] = set()
    for rule in _rules_of(entry.rule):
        if isinstance(rule, ConditionRule):
            kinds |= {CONDITIONS[reason].kind for reason in rule.reasons}
        elif isinstance(rule, WorkflowRule):
            kinds.add(rule.kind)
        else:
            resource = resource_of(dict.fromkeys(METRICS[rule.metric].labels, "x"))
            kinds.add(resource.kind if resource else ANY_KIND)
    signature = entry.log_signature is not None  # log bursts name the stream's pod or the namespace
    return kinds | ({"Pod"} if signature else set())


def _builtins() -> list[Playbook]:
    return builtin_playbooks(ACTIONS)


def test_every_id_has_a_rule_or_says_who_provides_it() -> None:
    modules = set(_rule_modules())
    for entry in CATALOGUE.values():
        if entry.provided_by == "detector":
            assert entry.rule in modules, f"{entry.alert_id}: rule {entry.rule!r} is not a module of detector/rules"
            assert entry.status == "active", f"{entry.alert_id}: a detector rule is never pending"
        else:
            assert entry.rule is None, f"{entry.alert_id} is provided by {entry.provided_by}, not by a rule"
    pending = sorted(e.alert_id for e in CATALOGUE.values() if e.status == "pending")
    assert all(CATALOGUE[p].provided_by == "github" for p in pending), "only the GitHub source's ids wait"


@pytest.mark.parametrize("module", sorted(_rule_modules()))
def test_each_rule_module_raises_its_own_id_on_the_signals_the_catalogue_names(module: str) -> None:
    rules = _rules_of(module)
    [entry] = [e for e in CATALOGUE.values() if e.rule == module]
    assert {r.alert_id for r in rules} == {entry.alert_id}
    assert _signals_read(rules) == set(entry.signals), f"{entry.alert_id}: catalogue signals differ from the rule's"


def test_every_collected_signal_is_judged_by_a_rule_or_is_context_only() -> None:
    catalogue = load_catalogue()
    triggers = {s for m in _rule_modules() for s in _signals_read(_rules_of(m))}
    recoveries = {r for reason in triggers if reason in CONDITIONS for r in CONDITIONS[reason].recovers}
    recoveries |= set(DetectorSettings().recovery_reasons)
    unjudged = sorted((set(CONDITIONS) | set(METRICS)) - triggers - recoveries - set(catalogue.context_only))
    assert unjudged == [], f"collected but read by no rule (add a rule, or list it under context_only): {unjudged}"
    for name, why in catalogue.context_only.items():
        assert name in CONDITIONS or name in METRICS, f"context_only names {name!r}, which is not a signal"
        assert name not in triggers, f"{name} is context only, yet a rule reads it"
        assert why.strip(), f"{name}: say why it is context only"


def test_every_builtin_playbook_can_be_triggered_by_some_rule() -> None:
    for playbook in _builtins():
        reachable = []
        for alert_id in playbook.trigger.alerts:
            assert alert_id in CATALOGUE, f"{playbook.name} triggers on {alert_id}, which is not in the catalogue"
            kinds = _kinds_raised(alert_id)
            wanted = set(playbook.trigger.target_kinds)
            if not wanted or ANY_KIND in kinds or wanted & kinds:
                reachable.append(alert_id)
        assert reachable, (
            f"playbook {playbook.name} triggers on {playbook.trigger.alerts} with target kinds "
            f"{playbook.trigger.target_kinds}, which no rule raises"
        )


def test_each_ids_playbooks_exist_and_answer_it_and_every_builtin_is_someones() -> None:
    builtins = {p.name: p for p in _builtins()}
    named = set()
    for entry in CATALOGUE.values():
        assert entry.playbooks, f"{entry.alert_id} names no default playbook"
        for name in entry.playbooks:
            assert name in builtins, f"{entry.alert_id} names playbook {name!r}, which is not built in"
            assert entry.alert_id in builtins[name].trigger.alerts, f"{name} does not trigger on {entry.alert_id}"
            named.add(name)
    assert set(builtins) - named == set(), "every built-in playbook is some alert's default"


def test_hints_temporal_mappings_and_signatures_refer_to_what_the_entry_reads() -> None:
    for entry in CATALOGUE.values():
        for key in entry.hints:
            assert key == "default" or key in entry.signals, f"{entry.alert_id}: hints for {key!r}, not a signal"
        for metric in entry.temporal:
            assert metric in METRICS, f"{entry.alert_id}: temporal {metric!r} is not a metric"
            assert metric in entry.signals, f"{entry.alert_id}: temporal {metric!r} is not what its rule reads"
        if entry.log_signature:
            re.compile(entry.log_signature)
    assert metric_alerts()["queue_depth"] == "H7"
