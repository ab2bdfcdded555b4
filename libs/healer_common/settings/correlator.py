"""The correlator (`HEALER_CORRELATOR__*`): grouping, timing of notifications, learned links, inhibition."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from healer_common.contract.matchers import InhibitionRule
from healer_common.settings.section import Section

TopologyLabel = Literal["node", "deployment", "statefulset", "owner", "application"]


def _default_topology() -> list[TopologyLabel]:
    return ["node", "deployment", "statefulset", "owner", "application"]


def _default_inhibit_rules() -> list[dict[str, Any]]:
    # Plain data, validated into InhibitionRule on load (validate_default), so docs/settings.md can show it.
    return [
        {
            "name": "node down mutes its pods",
            "source_matchers": ['reason=~"NotReady|KubeletStopped|NetworkUnavailable"', 'node=~".+"', 'pod=""'],
            "target_matchers": ['pod=~".+"'],
            "equal": ["cluster", "node"],
        },
        {
            "name": "failing database mutes the queue backlog it causes",
            "source_matchers": ['alert_id="H6"'],
            "target_matchers": ['alert_id="H7"'],
            "equal": ["cluster", "namespace"],
        },
    ]


class CorrelatorSettings(Section):
    group_by: list[str] = Field(
        default_factory=lambda: [
            "cluster",
            "namespace",
            "alertname",
            "node",
            "deployment",
            "statefulset",
            "application",
        ],
        description="alert labels whose values put alerts into one incident (topology joins more, see topology)",
    )
    group_wait_s: float = Field(
        0.0, ge=0, description="publish (and notify) a new incident this long after its first alert, not before"
    )
    group_interval_s: float = Field(
        30.0,
        ge=0,
        description="publish an incident's changes (new alerts, resolved ones, mutes) at most this often; "
        "its full resolution goes out at once. The remediator acts on what the revisions carry, so this is also "
        "how long a new problem in an open incident may wait to be healed (Alertmanager's 5m suits notifications "
        "only)",
    )
    repeat_interval_s: float = Field(
        4 * 3600.0, ge=0, description="re-notify an unchanged open incident after this long"
    )
    topology: list[TopologyLabel] = Field(
        default_factory=_default_topology,
        description="an alert joins an open incident whose firing alerts share one of these (same node, same owner)",
    )
    topology_window_s: float = Field(
        180.0,
        gt=0,
        description="alerts under one node or Application that is not itself alerting join when this close in time",
    )
    change_window_s: float = Field(
        1800.0, gt=0, description="changes (deploys, config, flags) this long before an incident weigh as its cause"
    )
    cooccurrence_window_s: float = Field(
        600.0, gt=0, description="B counts as following A when it fires within this long after A (learned links)"
    )
    cooccurrence_min_support: int = Field(
        5, ge=1, description="how often B must have followed A before the link ranks causes or joins incidents"
    )
    cooccurrence_min_confidence: float = Field(
        0.5, ge=0, le=1, description="share of B alerts preceded by A needed to join B to an open A incident"
    )
    cooccurrence_min_lift: float = Field(
        3.0, ge=1, description="how many times more often than chance A must precede B to join B to A's incident"
    )
    inhibit_rules: list[InhibitionRule] = Field(
        default_factory=_default_inhibit_rules,
        validate_default=True,
        description="while a source alert fires, matching target alerts with equal labels are muted",
    )
    batch_max: int = Field(
        1_000, ge=1, le=10_000, description="most alerts folded into the incidents at once (one Redis round trip)"
    )
    lease_ttl_s: float = Field(
        10.0,
        gt=0,
        description="a cluster's lease (one writer per cluster) lapses this long after its holder stopped "
        "renewing it; a holder whose lease lapsed publishes nothing more",
    )
    revision_alerts: int = Field(
        100, ge=1, description="alerts a revision carries in full; a bigger incident carries its newest changes"
    )
    revision_max_bytes: int = Field(
        262_144,
        ge=16_384,
        le=900_000,
        description="largest revision published (NATS refuses messages over its max_payload, 1 MiB by default)",
    )
    label_value_max: int = Field(
        1_024, ge=16, description="label values and summaries longer than this are cut in incidents (ending in …)"
    )
    tick_s: float = Field(
        0.25,
        gt=0,
        description="how often silences and the timers are looked at; a revision due before the next look is "
        "waited for and published when due",
    )
