"""The alert catalogue as rules, one module per catalogue id: where "where is H3 decided?" is answered.

    h0_observability_gap   h1_sync_drift   h2_resource_exhaustion   h3_certificate_expiry   h4_image_pull
    h5_network             h6_database     h7_queue_backlog         h8_memory_pressure      h9_node_down
    h11_control_plane      a1_agent_order  a2_silent_agent_failure  a3_stale_progress       a4_approval_loop
    a5_post_tess_failure   a7_pod_failure  a8_step_timeout          a9_stuck_coderun        a10_agent_contention

Which module decides which id, on which signals, is the catalogue (healer_common/contract/catalogue.yaml);
tests/unit/test_catalogue.py keeps the two in step. A1, A3, A4 and A5 judge agent workflows (a task's PRs from
the github source, its agent pods from the kubernetes source: workflow_facts.py); agent_workflow.py holds what
they share.
"""

from __future__ import annotations

from services.detector.rules import (
    a1_agent_order,
    a2_silent_agent_failure,
    a3_stale_progress,
    a4_approval_loop,
    a5_post_tess_failure,
    a7_pod_failure,
    a8_step_timeout,
    a9_stuck_coderun,
    a10_agent_contention,
    h0_observability_gap,
    h1_sync_drift,
    h2_resource_exhaustion,
    h3_certificate_expiry,
    h4_image_pull,
    h5_network,
    h6_database,
    h7_queue_backlog,
    h8_memory_pressure,
    h9_node_down,
    h11_control_plane,
)
from services.detector.rules.model import ConditionRule, MetricRule, WorkflowRule

_MODULES = (
    h0_observability_gap,
    h1_sync_drift,
    h2_resource_exhaustion,
    h3_certificate_expiry,
    h4_image_pull,
    h5_network,
    h6_database,
    h7_queue_backlog,
    h8_memory_pressure,
    h9_node_down,
    h11_control_plane,
    a1_agent_order,
    a2_silent_agent_failure,
    a3_stale_progress,
    a4_approval_loop,
    a5_post_tess_failure,
    a7_pod_failure,
    a8_step_timeout,
    a9_stuck_coderun,
    a10_agent_contention,
)
CONDITION_RULES: tuple[ConditionRule, ...] = tuple(r for m in _MODULES for r in m.RULES if isinstance(r, ConditionRule))
METRIC_RULES: tuple[MetricRule, ...] = tuple(r for m in _MODULES for r in m.RULES if isinstance(r, MetricRule))
WORKFLOW_RULES: tuple[WorkflowRule, ...] = tuple(r for m in _MODULES for r in m.RULES if isinstance(r, WorkflowRule))
