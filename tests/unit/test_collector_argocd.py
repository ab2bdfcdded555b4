"""ArgoCD Applications as the collector reports them: drift since when, health, failed syncs, what was deployed
against what is declared, and each finished sync as a deploy."""

from __future__ import annotations

import datetime as dt

from services.collector.sources import samples
from services.collector.sources.argocd import ApplicationTracker

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def later(minutes: float) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


def test_drift_is_reported_once_with_the_time_it_began_and_the_revisions() -> None:
    tracker = ApplicationTracker()
    tracker.observe(samples.application("platform"), NOW)

    drifted = tracker.observe(samples.application("platform", sync="OutOfSync", revision="def456"), later(1))
    still = tracker.observe(samples.application("platform", sync="OutOfSync", revision="def456"), later(5))

    assert [o.condition.reason for o in drifted.conditions] == ["OutOfSync"]
    labels = drifted.conditions[0].condition.labels
    assert labels["since"] == "2026-01-05T09:01:00Z"
    assert (labels["revision"], labels["deployed_revision"]) == ("def456", "abc123")
    assert labels["application"] == "platform"
    assert not still.conditions


def test_a_sync_that_lands_is_synced_and_a_deploy_from_the_old_revision_to_the_new() -> None:
    tracker = ApplicationTracker()
    tracker.observe(samples.application("platform", sync="OutOfSync", revision="def456"), NOW)

    synced = tracker.observe(samples.application("platform", revision="def456", deployed="def456"), later(2))

    assert [o.condition.reason for o in synced.conditions] == ["Synced"]
    assert [(c.data.what, c.data.from_, c.data.to) for c in synced.changes] == [("deploy", "abc123", "def456")]


def test_degraded_health_and_a_failed_sync_say_why() -> None:
    operation = {
        "phase": "Failed",
        "message": "one or more objects failed to apply",
        "startedAt": "2026-01-05T08:59:00Z",
    }
    app = samples.application("platform", health="Degraded", operation=operation)
    app["status"]["health"]["message"] = "Deployment api has 0 ready replicas"

    found = ApplicationTracker().observe(app, NOW)

    by_reason = {o.condition.reason: o.condition for o in found.conditions}
    assert set(by_reason) == {"Synced", "Degraded", "SyncFailed"}
    assert by_reason["Degraded"].message == "Deployment api has 0 ready replicas"
    assert by_reason["SyncFailed"].message == "one or more objects failed to apply"


def test_a_helm_chart_deployed_behind_its_declared_version_shows_both_and_a_revision_lag() -> None:
    app = samples.application("redis", sync="OutOfSync", chart="redis", revision="19.0.1", deployed="18.6.4")

    found = ApplicationTracker().observe(app, NOW)

    labels = found.conditions[0].condition.labels
    assert (labels["chart"], labels["chart_version"], labels["deployed_chart_version"]) == ("redis", "19.0.1", "18.6.4")
    assert [(s.name, s.value) for s in found.samples] == [
        ("argocd_app_revision_lag", 1.0),
        ("argocd_app_revision_age_seconds", 0.0),
        ("helm_release_behind", 1.0),
    ]


def test_git_ahead_of_what_is_deployed_ages_until_it_is_synced() -> None:
    tracker = ApplicationTracker()
    tracker.observe(samples.application("platform", sync="OutOfSync", revision="def456"), NOW)

    behind = {s.name: s.value for s in tracker.resync(later(20)).samples}
    tracker.observe(samples.application("platform", revision="def456", deployed="def456"), later(21))
    caught_up = {s.name: s.value for s in tracker.resync(later(22)).samples}

    assert behind["argocd_app_revision_age_seconds"] == 20 * 60
    assert caught_up == {"argocd_app_revision_lag": 0.0, "argocd_app_revision_age_seconds": 0.0}


def test_a_config_map_edited_away_from_git_drifts_until_it_matches_again() -> None:
    tracker = ApplicationTracker()
    drifted_app = samples.application("platform")
    drifted_app["status"]["resources"] = [
        {"kind": "ConfigMap", "namespace": "cto", "name": "gateway-config", "status": "OutOfSync"},
        {"kind": "Deployment", "namespace": "cto", "name": "gateway", "status": "OutOfSync"},
    ]

    drifted = tracker.observe(drifted_app, NOW)
    still = tracker.observe(drifted_app, later(1))
    back = tracker.observe(samples.application("platform"), later(2))

    [drift] = [o.condition for o in drifted.conditions if o.condition.reason == "ConfigDrift"]
    assert str(drift.resource) == "configmap cto/gateway-config"
    assert drift.labels["application"] == "platform"
    assert drift.labels["since"] == "2026-01-05T09:00:00Z"
    assert not still.conditions
    assert [(o.condition.reason, o.condition.resource.name) for o in back.conditions] == [
        ("ConfigSynced", "gateway-config")
    ]


def test_an_application_in_step_has_no_revision_lag() -> None:
    tracker = ApplicationTracker()
    tracker.observe(samples.application("platform"), NOW)

    assert [(s.name, s.value) for s in tracker.resync(NOW).samples] == [
        ("argocd_app_revision_lag", 0.0),
        ("argocd_app_revision_age_seconds", 0.0),
    ]
