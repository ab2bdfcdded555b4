"""The table of action types: which are safe and which need a human's approval, how each is verified and
undone, and the adapter that plans it. docs/remediator.md ("Safe and approval-required actions") gives the reasons.

| type                 | safe | verified by the alert | undone                                    |
| -------------------- | ---- | --------------------- | ----------------------------------------- |
| restart_pod          | yes  | yes                   | -                                         |
| scale_up             | yes  | yes                   | scaled back when the rollback window ends |
| clear_temp_files     | yes  | yes                   | -                                         |
| retry_sync           | yes  | yes                   | -                                         |
| create_coderun       | yes  | by its CodeRun's end  | -                                         |
| notify, escalate     | yes  | no                    | -                                         |
| alert_escalate       | yes  | no                    | - (the seed's name for escalate)          |
| rollback_deployment  | no   | yes                   | rolled forward if health got worse        |
| drain_node           | no   | yes                   | uncordoned if health got worse            |
| refresh_secrets      | yes  | yes                   | previous Secret restored if it failed     |
| database_failover    | no   | yes                   | - (failing back is a human's call)        |
| disable_feature_flag | no   | yes                   | switched on again if health got worse     |
| failover_provider    | no   | yes (primary back)    | switched back once the alert resolves     |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from healer_common.contract.events import ResourceRef
from services.remediator.actions import (
    clear_temp_files,
    create_coderun,
    database_failover,
    disable_feature_flag,
    drain_node,
    escalate,
    failover_provider,
    notify,
    refresh_secrets,
    restart_pod,
    retry_sync,
    rollback_deployment,
    scale_up,
)
from services.remediator.actions.plans import ActionContext, ActionPlan
from services.remediator.playbooks import ActionTraits

PlanFn = Callable[[ActionContext, ResourceRef, dict[str, Any]], Awaitable[ActionPlan]]
UndoFn = Callable[[ActionContext, dict[str, Any]], Awaitable[ActionPlan]]


@dataclass(frozen=True, kw_only=True)
class ActionKind(ActionTraits):
    plan: PlanFn
    undo: UndoFn | None = None


CATALOGUE: dict[str, ActionKind] = {
    "restart_pod": ActionKind(
        verb="restart",
        safe=True,
        verifies=True,
        reversal="none",
        params=restart_pod.RestartPodParams,
        plan=restart_pod.plan,
        target_kinds=("Pod",),
    ),
    "scale_up": ActionKind(
        verb="scale",
        safe=True,
        verifies=True,
        reversal="temporary",
        params=scale_up.ScaleUpParams,
        plan=scale_up.plan,
        undo=scale_up.plan_undo,
        target_kinds=("Pod", "Deployment", "Queue"),  # a queue's consumer Deployment (cluster.inspect_target)
    ),
    "clear_temp_files": ActionKind(
        verb="cleanup",
        safe=True,
        verifies=True,
        reversal="none",
        params=clear_temp_files.ClearTempFilesParams,
        plan=clear_temp_files.plan,
        target_kinds=("PersistentVolumeClaim",),
    ),
    "retry_sync": ActionKind(
        verb="sync",
        safe=True,
        verifies=True,
        reversal="none",
        params=retry_sync.RetrySyncParams,
        plan=retry_sync.plan,
        target_kinds=("Application",),
    ),
    "create_coderun": ActionKind(
        verb="coderun",
        safe=True,
        verifies=False,
        reversal="none",
        params=create_coderun.CreateCodeRunParams,
        plan=create_coderun.plan,
        follows=True,
    ),
    "notify": ActionKind(
        verb="notify", safe=True, verifies=False, reversal="none", params=notify.NotifyParams, plan=notify.plan
    ),
    "escalate": ActionKind(
        verb="escalate", safe=True, verifies=False, reversal="none", params=escalate.EscalateParams, plan=escalate.plan
    ),
    "alert_escalate": ActionKind(
        verb="alert_escalate",
        safe=True,
        verifies=False,
        reversal="none",
        params=escalate.EscalateParams,
        plan=escalate.plan,
    ),
    "rollback_deployment": ActionKind(
        verb="rollback",
        safe=False,
        verifies=True,
        reversal="on_harm",
        params=rollback_deployment.RollbackDeploymentParams,
        plan=rollback_deployment.plan,
        undo=rollback_deployment.plan_undo,
        target_kinds=("Pod", "Deployment"),
    ),
    "drain_node": ActionKind(
        verb="drain",
        safe=False,
        verifies=True,
        reversal="on_harm",
        params=drain_node.DrainNodeParams,
        plan=drain_node.plan,
        undo=drain_node.plan_undo,
        default_retry=5,
        target_kinds=("Node",),
    ),
    "refresh_secrets": ActionKind(
        verb="refresh",
        safe=True,
        verifies=True,
        reversal="on_failure",
        params=refresh_secrets.RefreshSecretsParams,
        plan=refresh_secrets.plan,
        undo=refresh_secrets.plan_undo,
    ),
    "database_failover": ActionKind(
        verb="failover",
        safe=False,
        verifies=True,
        reversal="none",
        params=database_failover.DatabaseFailoverParams,
        plan=database_failover.plan,
    ),
    "disable_feature_flag": ActionKind(
        verb="flag",
        safe=False,
        verifies=True,
        reversal="on_harm",
        params=disable_feature_flag.DisableFeatureFlagParams,
        plan=disable_feature_flag.plan,
        undo=disable_feature_flag.plan_undo,
    ),
    "failover_provider": ActionKind(
        verb="provider",
        safe=False,
        verifies=True,
        reversal="on_recovery",
        params=failover_provider.FailoverProviderParams,
        plan=failover_provider.plan,
        undo=failover_provider.plan_undo,
    ),
}
