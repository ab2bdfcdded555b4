"""Label matchers as Alertmanager users type them, for silences and inhibition rules: what they match, how
they read back, and how a typo is refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.matchers import InhibitionRule, Matcher

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
values = st.text(max_size=20)
labels = st.dictionaries(names, values, max_size=5)
ops = st.sampled_from(["=", "!=", "=~", "!~"])


@given(name=names, op=ops, value=values)
def test_a_matcher_reads_back_from_its_own_text(name: str, op: str, value: str) -> None:
    pattern = re.escape(value) if op in ("=~", "!~") else value
    matcher = Matcher(name=name, op=op, value=pattern)

    assert Matcher.parse(str(matcher)) == matcher


@given(name=names, value=values, alert=labels)
def test_equal_and_not_equal_disagree_on_every_alert(name: str, value: str, alert: dict[str, str]) -> None:
    equal = Matcher(name=name, op="=", value=value)
    different = Matcher(name=name, op="!=", value=value)

    assert equal.matches(alert) != different.matches(alert)


@given(name=names, value=values, alert=labels)
def test_a_regex_of_the_escaped_value_matches_exactly_what_equality_does(
    name: str, value: str, alert: dict[str, str]
) -> None:
    assert Matcher(name=name, op="=~", value=re.escape(value)).matches(alert) == Matcher(
        name=name, op="=", value=value
    ).matches(alert)
    assert Matcher(name=name, op="!~", value=re.escape(value)).matches(alert) != Matcher(
        name=name, op="=~", value=re.escape(value)
    ).matches(alert)


@given(alert=labels)
def test_a_missing_label_matches_as_the_empty_string(alert: dict[str, str]) -> None:
    alert.pop("team", None)

    assert Matcher.parse('team=""').matches(alert)
    assert not Matcher.parse("team=~.+").matches(alert)


def test_a_regex_must_match_the_whole_value() -> None:
    matcher = Matcher.parse('pod=~"rex-.*"')

    assert matcher.matches({"pod": "rex-1"})
    assert not matcher.matches({"pod": "cleo-rex-1"})


def test_the_forms_users_type_are_read() -> None:
    assert Matcher.parse("alertname=H8") == Matcher(name="alertname", op="=", value="H8")
    assert Matcher.parse(' node != "worker 1" ') == Matcher(name="node", op="!=", value="worker 1")
    assert Matcher.parse('severity!~"info|warning"').matches({"severity": "critical"})


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("alertname", "write name=value"),
        ("reason~NotReady", "write name=value"),
        ("1node=n1", "write name=value"),
        ('pod=~"("', "not a valid regular expression"),
        ("node=worker 1", "double quotes"),
    ],
)
def test_a_bad_matcher_is_refused_with_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        Matcher.parse(text)


def named(alert_id: str, **labels: str) -> dict[str, str]:
    """An alert's labels as Healer publishes them: a readable alertname and the catalogue id."""
    return {"alertname": CATALOGUE[alert_id].alertname, "alert_id": alert_id, **labels}


def test_an_inhibition_rule_needs_equal_labels_on_source_and_target() -> None:
    rule = InhibitionRule(
        name="db mutes backlog",
        source_matchers=["alert_id=H6"],  # config gives matchers as text
        target_matchers=["alertname=QueueBacklog"],
        equal=["namespace"],
    )
    database = named("H6", namespace="shop")

    assert rule.inhibits(database, named("H7", namespace="shop"))
    assert not rule.inhibits(database, named("H7", namespace="billing"))
    assert not rule.inhibits(database, named("H8", namespace="shop"))
    assert not rule.inhibits(named("H8", namespace="shop"), named("H7", namespace="shop"))


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ('alertname="H6"', 'alert_id="H6"'),
        ("alertname!=H8", 'alert_id!="H8"'),
        ('alertname=~"A[0-9]+"', 'alert_id=~"A[0-9]+"'),
        ('alertname=~"H.*"', 'alert_id=~"H.*"'),
        ('alertname="MemoryPressure"', 'alertname="MemoryPressure"'),
        ('alertname=~".+"', 'alertname=~".+"'),
        ('alertname="KubePodCrashLooping"', 'alertname="KubePodCrashLooping"'),
    ],
)
def test_a_matcher_written_for_catalogue_ids_in_alertname_still_matches_them(written: str, read: str) -> None:
    matcher = Matcher.parse(written)

    assert str(matcher) == read
    assert str(Matcher.model_validate(matcher.model_dump() | {"name": "alertname"})) == read, "stored ones too"


def test_an_old_rule_mutes_what_it_muted_before_alertnames_became_readable() -> None:
    rule = InhibitionRule(name="db", source_matchers=['alertname="H6"'], target_matchers=['alertname="H7"'])

    assert rule.inhibits(named("H6"), named("H7"))
