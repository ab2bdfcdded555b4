"""H1 ArgoCD sync drift (GitOps health): an Application OutOfSync or Degraded for longer than its limit, dated
from when the status began (labels.since) so that a detector restart does not restart the clock. A failed sync
operation fires after `h1.sync_failed_for_s` (at once by default). Synced / Healthy resolve.

The GitOps lags: Git's revision ahead of the deployed one for `h1.revision_age_s` (git commit lag, as an age:
the collector cannot count commits without the repository), a Helm release behind its newest declared chart
version for `h1.helm_behind_for_s`, and a ConfigMap or Secret that differs from its Git source for
`h1.config_drift_for_s` (ConfigSynced resolves it).
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings
from services.detector.rules.model import ConditionRule, Hold, Limits, MetricRule


def _out_of_sync(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.out_of_sync_for_s, severity="warning")


def _degraded(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.degraded_for_s, severity="warning")


def _sync_failed(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.sync_failed_for_s, severity="warning")


def _config_drift(data: ConditionData, cfg: RuleSettings) -> Hold:
    del data
    return Hold(for_s=cfg.h1.config_drift_for_s, severity="warning")


def _revision_age(cfg: RuleSettings) -> Limits:
    """The age itself is the hold: it fires as it passes the limit, and resolves once deployed for a minute."""
    age = cfg.h1.revision_age_s
    return Limits(age, age, 0.0, 60.0, "warning")


def _helm_behind(cfg: RuleSettings) -> Limits:
    """Behind for its hold fires; caught up for a minute resolves (a sync in progress does not flap it)."""
    return Limits(0.5, 0.5, cfg.h1.helm_behind_for_s, 60.0, "warning")


RULES = (
    # sync and health are two axes of one Application: Healthy must not end an OutOfSync, nor Synced a Degraded
    ConditionRule("H1", ("OutOfSync",), _out_of_sync, recoveries=("Synced",), dated_by_since=True),
    ConditionRule("H1", ("Degraded",), _degraded, recoveries=("Healthy",), dated_by_since=True),
    ConditionRule("H1", ("SyncFailed",), _sync_failed, recoveries=("Synced",)),
    ConditionRule("H1", ("ConfigDrift",), _config_drift, dated_by_since=True),
    MetricRule("H1", "argocd_app_revision_age_seconds", _revision_age, what="seconds deployed is behind Git"),
    MetricRule("H1", "helm_release_behind", _helm_behind, what="Helm release behind its newest declared chart"),
)
