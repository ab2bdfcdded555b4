"""Staging against prod: the same app in another watched cluster, its version and whether it fires too."""

from __future__ import annotations

from healer_common.contract.incidents import Incident
from services.correlator.environments import AppView, app_firing, environment_differences
from tests.support.correlator_samples import at, fold, pod_alert

APP = "deployment cto/gateway"


def prod_incident() -> Incident:
    return fold(
        pod_alert("gw-1", alert_id="A7", reason="CrashLoopBackOff", deployment="gateway", cluster="prod"),
        pod_alert(
            "gw-2", alert_id="A7", reason="CrashLoopBackOff", deployment="gateway", cluster="prod", starts_at=at(1)
        ),
    )


def test_the_incident_names_the_apps_it_touches_and_their_firing_alerts() -> None:
    assert app_firing(prod_incident()) == {APP: ["A7"]}


def test_staging_on_the_old_version_with_no_alerts_says_the_trouble_is_prods() -> None:
    view = AppView(versions={"prod": "v1.5.0", "staging": "v1.4.2"}, firing={"prod": ["A7"]})

    (difference,) = environment_differences(prod_incident(), {APP: view})

    assert (difference.environment, difference.version_here, difference.version_there) == (
        "staging",
        "v1.5.0",
        "v1.4.2",
    )
    assert difference.summary == (
        "deployment cto/gateway: staging runs v1.4.2 where prod runs v1.5.0, and has no alert for it: "
        "the trouble is specific to prod"
    )


def test_staging_on_the_same_version_firing_the_same_alerts_says_it_is_not_prods_alone() -> None:
    view = AppView(versions={"prod": "v1.5.0", "staging": "v1.5.0"}, firing={"staging": ["A7"]})

    (difference,) = environment_differences(prod_incident(), {APP: view})

    assert difference.firing_there == ["A7"]
    assert "runs the same version v1.5.0" in difference.summary
    assert "not specific to prod" in difference.summary


def test_an_app_watched_only_here_reports_nothing() -> None:
    assert environment_differences(prod_incident(), {APP: AppView(versions={"prod": "v1.5.0"})}) == []
    assert environment_differences(prod_incident(), {}) == []
