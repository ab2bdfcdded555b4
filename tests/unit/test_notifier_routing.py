"""The route tree as an operator writes it in YAML: who hears about which incident, which escalation policy
watches it, and mistakes in the tree refused at load with the field and the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.matchers import Matcher
from healer_common.errors import ConfigError
from healer_common.settings import load_settings
from healer_common.settings.notifier import RootRoute
from services.notifier.routing import channels_for, incident_labels, match
from tests.support.samples import alert, incident, pod

ALL = ["console", "webhook", "slack", "pagerduty", "github"]


def tree(**root: Any) -> RootRoute:
    return RootRoute.model_validate(root)


def labels(alert_id: str = "H8", **extra: str) -> dict[str, str]:
    named = {"alertname": CATALOGUE[alert_id].alertname, "alert_id": alert_id}
    return {**named, "severity": "critical", "cluster": "prod", "namespace": "cto", **extra}


def test_an_incident_no_child_route_matches_goes_to_the_root_receiver() -> None:
    root = tree(receiver="chat", routes=[{"matchers": ['severity="info"'], "receiver": "quiet"}])

    assert match(root, labels()).receivers == ("chat",)


def test_the_first_matching_child_wins_unless_it_says_continue() -> None:
    routes: list[dict[str, Any]] = [
        {"matchers": ['severity="critical"'], "receiver": "oncall"},
        {"matchers": ['namespace="cto"'], "receiver": "team"},
    ]
    assert match(tree(receiver="chat", routes=routes), labels()).receivers == ("oncall",)

    routes[0]["continue"] = True
    assert match(tree(receiver="chat", routes=routes), labels()).receivers == ("oncall", "team")


def test_a_route_written_when_alertname_was_the_catalogue_id_still_matches() -> None:
    root = tree(receiver="chat", routes=[{"matchers": ['alertname=~"A[0-9]+"'], "receiver": "workflow"}])

    assert match(root, labels("A7")).receivers == ("workflow",)
    assert match(root, labels("H8")).receivers == ("chat",)


def test_a_child_route_refines_its_parent_and_inherits_what_it_does_not_say() -> None:
    root = tree(
        receiver="chat",
        routes=[
            {
                "matchers": ['cluster=~"prod.*"'],
                "receiver": "prod-chat",
                "escalation": "page",
                "routes": [{"matchers": ["alert_id=~A[0-9]+"], "receiver": "workflow"}],
            }
        ],
    )

    assert match(root, labels("A7")) == match(root, labels("A2"))
    assert match(root, labels("A7")).receivers == ("workflow",)
    assert match(root, labels("A7")).escalation == "page"
    assert match(root, labels()).receivers == ("prod-chat",), "no grandchild matched: the child itself does"
    assert match(root, labels(cluster="staging")).receivers == ("chat",)


@pytest.mark.parametrize(
    ("matcher", "value", "matches"),
    [
        ('team="core ops"', "core ops", True),
        ("team=core", "core-2", False),
        ("team!=core", "core", False),
        ("team!=core", "", True),
        ('team=~"core|infra"', "infra", True),
        ('team=~"core"', "core-2", False),  # anchored, as in Alertmanager
        ('team!~"core.*"', "infra", True),
        ('team=""', "", True),
    ],
)
def test_matchers_read_as_alertmanager_matchers_do(matcher: str, value: str, matches: bool) -> None:
    given_labels = {"team": value} if value else {}

    assert Matcher.parse(matcher).matches(given_labels) is matches


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\\\n\r'), max_size=30))
def test_any_quoted_value_matches_itself_exactly(value: str) -> None:
    assert Matcher.parse(f'team="{value}"').matches({"team": value})


def test_the_default_receiver_is_every_configured_channel_and_named_ones_keep_channel_order() -> None:
    declared: dict[str, list[Any]] = {"oncall": ["pagerduty", "slack"], "chat": ["slack", "console"]}

    assert channels_for(["default"], declared, ALL) == ALL
    assert channels_for(["oncall", "chat"], declared, ALL) == ["console", "slack", "pagerduty"]
    assert channels_for(["oncall"], declared, ["console", "slack"]) == ["slack"]


def test_routes_see_the_incidents_common_labels_and_its_own_facts() -> None:
    held = incident(alert("H8", resource=pod("rex-1")), alert("H4", severity="warning", resource=pod("rex-2")))

    seen = incident_labels(held)

    assert (seen["alertname"], seen["alert_id"]) == ("MemoryPressure", "H8"), "the primary (earliest) alert names it"
    assert (seen["severity"], seen["cluster"], seen["namespace"]) == ("critical", "default", "cto")
    assert "pod" not in seen, "the two alerts disagree on pod: not a common label"


def notifier(**section: Any) -> Any:
    return load_settings(notifier=section).notifier


def test_a_route_to_an_undeclared_receiver_or_policy_is_refused_at_load_with_its_path() -> None:
    route = {"routes": [{"matchers": ['severity="critical"'], "routes": [{"receiver": "oncal", "escalation": "pg"}]}]}

    with pytest.raises(ConfigError) as caught:
        notifier(receivers={"oncall": ["console"]}, route=route)

    message = str(caught.value)
    assert "notifier.route.routes.0.routes.0.receiver: no receiver named 'oncal'; declared: default, oncall" in message
    assert "notifier.route.routes.0.routes.0.escalation: no escalation policy named 'pg'" in message


def test_a_bad_matcher_is_refused_at_load_naming_the_route() -> None:
    with pytest.raises(ConfigError, match=r"notifier.route.routes.0.matchers: .*not a valid regular expression"):
        notifier(route={"routes": [{"matchers": ["team=~(core"]}]})
    with pytest.raises(ConfigError, match=r"bad matcher 'severity critical': write name=value"):
        notifier(route={"routes": [{"matchers": ["severity critical"]}]})


def test_escalation_levels_take_durations_and_must_come_in_order() -> None:
    cfg = notifier(
        escalations={
            "page": {"levels": [{"delay": 0, "channels": ["console"]}, {"delay": "15m", "channels": ["console"]}]}
        }
    )

    assert [level.delay for level in cfg.escalations["page"].levels] == [0.0, 900.0]
    with pytest.raises(ConfigError, match="level 2 \\(delay 60s\\) comes before level 1 \\(delay 3600s\\)"):
        notifier(
            escalations={
                "p": {"levels": [{"delay": "1h", "channels": ["console"]}, {"delay": "1m", "channels": ["console"]}]}
            }
        )
    with pytest.raises(ConfigError, match="'soon' is not a duration"):
        notifier(escalations={"p": {"levels": [{"delay": "soon", "channels": ["console"]}]}})
