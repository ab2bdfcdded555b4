"""One settings object for every service: `HEALER_*` environment variables, then an optional YAML file.

Precedence, strongest first: explicit overrides, `HEALER_*` variables (nested with `__`, e.g.
`HEALER_NATS__URL`), the names today's Healer already uses (`PROMETHEUS_URL`, `LOKI_URL`, `OPENMEMORY_URL`,
`SLACK_WEBHOOK_URL`, `PAGERDUTY_ROUTING_KEY`, `GITHUB_TOKEN`), the YAML file named by `HEALER_CONFIG`, and
the defaults, which are those of the embedded default (`make run`). Unknown keys are rejected, so a typo in
the YAML file fails at start with the key's path rather than being ignored. Every field is in the README.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from healer_common import notifier_config
from healer_common.collector_settings import (
    ArgoCDSourceSettings,
    KubernetesSourceSettings,
    LokiSourceSettings,
    ProbesSettings,
    PrometheusSourceSettings,
    RetrySettings,
    repeated,
)
from healer_common.detector_settings import DetectorSettings
from healer_common.errors import ConfigError
from healer_common.matchers import InhibitionRule
from healer_common.notifier_config import (
    CHANNEL_NAMES,
    DEFAULT_RECEIVER,
    ChannelName,
    DeliveryPolicy,
    EscalationPolicy,
    RootRoute,
)
from healer_common.subjects import SubjectSpace

STREAM_KEYS = ("EVENTS", "ALERTS", "INCIDENTS", "REMEDIATIONS", "AUDIT", "DLQ")  # streams.py names them
SERVICES = ("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge")

# Environment names already used by today's Healer, mapped to where they live here.
LEGACY_ENV = {
    "PROMETHEUS_URL": ("collector", "prometheus_url"),
    "LOKI_URL": ("collector", "loki_url"),
    "OPENMEMORY_URL": ("memory", "openmemory_url"),
    "OPENMEMORY_API_KEY": ("memory", "openmemory_api_key"),
    "SLACK_WEBHOOK_URL": ("notifier", "slack_webhook_url"),
    "PAGERDUTY_ROUTING_KEY": ("notifier", "pagerduty_routing_key"),
    "GITHUB_TOKEN": ("notifier", "github_token"),
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NatsSettings(Section):
    url: str = Field("nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to wait for a connection before retrying")
    stream_replicas: int = Field(1, ge=1, le=5, description="JetStream replicas per stream (3 in production)")
    token: SecretStr | None = Field(None, description="NATS auth token, if the server wants one")
    creds_file: Path | None = Field(None, description="NATS credentials file (JWT + nkey), if the server wants one")


class RedisSettings(Section):
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis for shared working state")
    key_prefix: str = Field(
        "healer",
        pattern=r"^[A-Za-z0-9:_-]+$",
        description="prefix of every Redis key, so installations can share a Redis",
    )


class BusSettings(Section):
    subject_root: str = Field("healer", description="first token(s) of every subject; streams are named after it")
    retention_days: dict[str, float] = Field(
        default_factory=dict, description="override a stream's max age, e.g. {EVENTS: 2, AUDIT: 730}"
    )
    heartbeat_interval_s: float = Field(
        5.0, gt=0, description="how often each service writes its heartbeat; 3 missed beats mean down"
    )

    @field_validator("retention_days")
    @classmethod
    def _known_streams(cls, value: dict[str, float]) -> dict[str, float]:
        """Stream keys in upper case (environment variables arrive lower-cased), and only streams that exist."""
        upper = {key.upper(): days for key, days in value.items()}
        if unknown := sorted(set(upper) - set(STREAM_KEYS)):
            raise ValueError(f"no stream named {', '.join(unknown)}; streams are {', '.join(STREAM_KEYS)}")
        return upper

    @property
    def space(self) -> SubjectSpace:
        return SubjectSpace(self.subject_root)


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="least severe level logged")
    format: Literal["auto", "json", "console"] = Field("auto", description="auto: console on a terminal, else JSON")


class TelemetrySettings(Section):
    traces: Literal["none", "console"] = Field("none", description="where spans go; context propagates either way")


class HttpSettings(Section):
    host: str = Field("127.0.0.1", description="bind address of /metrics, /healthz and service endpoints")
    base_port: int = Field(
        9470,
        ge=0,
        le=65_000,
        description="service i listens on base_port + i (collector first, memory-bridge last); 0 picks free ports",
    )
    port: int | None = Field(
        None, ge=0, le=65_535, description="exact port for this process (one service per container); wins over base"
    )

    def port_of(self, service: str) -> int:
        if self.port is not None:
            return self.port
        if self.base_port == 0:
            return 0
        return self.base_port + (SERVICES.index(service) if service in SERVICES else len(SERVICES))


class ClusterSettings(Section):
    name: str = Field("default", description="the cluster's name in every event and alert")
    kubeconfig: Path | None = Field(None, description="kubeconfig file; none and not in-cluster means no cluster")
    context: str | None = Field(None, description="kubeconfig context to use; its current context when unset")
    in_cluster: bool = Field(False, description="use the pod's service account (when Healer runs in the cluster)")
    own_namespace: str = Field("healer", description="where Healer runs; never acted upon")

    @property
    def configured(self) -> bool:
        return self.in_cluster or self.kubeconfig is not None


class CollectedCluster(ClusterSettings):
    """A cluster in `collector.clusters`: where to reach it, and its own Prometheus and Loki if it has them."""

    prometheus_url: str | None = Field(None, description="this cluster's Prometheus; collector.prometheus_url if unset")
    loki_url: str | None = Field(None, description="this cluster's Loki; collector.loki_url if unset")


class CollectorSettings(Section):
    prometheus_url: str | None = Field(None, description="Prometheus HTTP API base URL")
    loki_url: str | None = Field(None, description="Loki HTTP API base URL")
    max_event_bytes: int = Field(1_048_576, gt=0, description="largest event accepted on the HTTP ingest")
    clusters: list[CollectedCluster] = Field(
        default_factory=list, description="clusters this collector reads (kube contexts or in-cluster); [] = `cluster`"
    )
    kubernetes: KubernetesSourceSettings = KubernetesSourceSettings()
    argocd: ArgoCDSourceSettings = ArgoCDSourceSettings()
    prometheus: PrometheusSourceSettings = PrometheusSourceSettings()
    loki: LokiSourceSettings = LokiSourceSettings()
    probes: ProbesSettings = ProbesSettings()
    retry: RetrySettings = RetrySettings()

    def clusters_or(self, cluster: ClusterSettings) -> list[CollectedCluster]:
        """The clusters to read: the listed ones, or else the one `cluster` section every service shares."""
        if self.clusters:
            return self.clusters
        return [CollectedCluster(**cluster.model_dump())]

    @field_validator("clusters")
    @classmethod
    def _unique_cluster_names(cls, value: list[CollectedCluster]) -> list[CollectedCluster]:
        if twice := repeated([c.name for c in value]):
            raise ValueError(f"cluster names must be unique; repeated: {', '.join(twice)}")
        return value


TopologyLabel = Literal["node", "deployment", "statefulset", "owner", "application"]


def _default_topology() -> list[TopologyLabel]:
    return ["node", "deployment", "statefulset", "owner", "application"]


def _default_inhibit_rules() -> list[dict[str, Any]]:
    # Plain data, validated into InhibitionRule on load (validate_default), so the README table can show it.
    return [
        {
            "name": "node NotReady mutes its pods",
            "source_matchers": ['reason="NotReady"', 'node=~".+"', 'pod=""'],
            "target_matchers": ['pod=~".+"'],
            "equal": ["cluster", "node"],
        },
        {
            "name": "failing database mutes the queue backlog it causes",
            "source_matchers": ['alertname="H6"'],
            "target_matchers": ['alertname="H7"'],
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
    group_wait_s: float = Field(0.0, ge=0, description="wait this long after a group's first alert before notifying")
    group_interval_s: float = Field(
        300.0, ge=0, description="wait this long before notifying about new alerts in a group"
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
    tick_s: float = Field(
        1.0, gt=0, description="how often group_wait, group_interval, repeat_interval and silence ends are checked"
    )


class RemediatorSettings(Section):
    dry_run: bool = Field(False, description="never act, only say what would be done (always so with no cluster)")
    verify_window_s: float = Field(300.0, gt=0, description="how long an action has to resolve its alert")
    memory_timeout_s: float = Field(
        1.0, gt=0, description="how long to wait for memory-bridge before acting without it"
    )
    exclude_label: str = Field(
        "healer.platform/exclude", description="pods with this label set to true are never touched"
    )
    protected_name_prefixes: list[str] = Field(
        default_factory=lambda: ["healer", "cto-tools", "cto-controller", "openmemory", "nats", "redis"],
        description="pods whose names start with these are infrastructure and never touched",
    )
    playbook_paths: list[Path] = Field(
        default_factory=list,
        description="RemediationPlaybook YAML files or folders; a playbook here replaces a built-in of the same name",
    )
    cluster_playbooks: bool = Field(
        True, description="also read RemediationPlaybook custom resources from the cluster (all namespaces)"
    )
    playbook_reload_s: float = Field(
        30.0, gt=0, description="how often playbooks are re-read from files and the cluster"
    )
    tick_s: float = Field(
        1.0, gt=0, description="how often timers are checked: verification windows, approvals, rollback windows"
    )
    namespace_allow: list[str] = Field(
        default_factory=list, description="act only in these namespaces (empty: every namespace not denied)"
    )
    namespace_deny: list[str] = Field(
        default_factory=lambda: ["kube-system", "kube-public", "kube-node-lease"],
        description="never act in these namespaces (Healer's own namespace is always denied)",
    )
    rate_limit: int = Field(
        20, ge=0, description="cluster-wide budget of actions on the cluster per rate_window_s (0 refuses all)"
    )
    rate_window_s: float = Field(3600.0, gt=0, description="the sliding window of rate_limit")
    cooldown_s: float = Field(
        600.0, ge=0, description="after acting on a target, refuse new remediations of it for this long"
    )
    recurrence_window_s: float = Field(
        1800.0,
        ge=0,
        description="an alert back this soon after a verified fix means the fix did not hold: "
        "the next run goes on after it (and is not held back by the cooldown)",
    )
    max_concurrent: int = Field(5, ge=1, description="remediations in progress at once, across replicas")
    lock_ttl_s: float = Field(
        120.0,
        gt=0,
        description="expiry of the per-target lock, renewed while its run lives (a crashed replica's lock lapses)",
    )
    breaker_window_s: float = Field(3600.0, gt=0, description="the circuit breaker weighs outcomes this recent")
    breaker_min_runs: int = Field(5, ge=1, description="the breaker judges only once this many runs have ended")
    breaker_min_success: float = Field(
        0.5, ge=0, le=1, description="open the breaker (stop acting) when the success rate falls below this"
    )
    breaker_cooldown_s: float = Field(
        1800.0, gt=0, description="an open breaker refuses for this long, then lets runs try again"
    )
    approval_timeout_s: float = Field(900.0, gt=0, description="how long an approval request waits for an answer")
    approval_on_timeout: dict[str, Literal["approve", "deny"]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type] # mypy widens the literals in a lambda's dict
            "rollback_deployment": "deny",
            "drain_node": "deny",
            "refresh_secrets": "deny",
            "database_failover": "deny",
            "disable_feature_flag": "deny",
        },
        description="per action type, what an unanswered approval request becomes (unlisted: deny)",
    )
    memory_confidence: float = Field(
        0.9, ge=0, le=1, description="apply memory's recommended fix directly when its confidence is above this"
    )
    database_failover_url: str | None = Field(
        None, description="webhook that fails a database over (POST {database, reason, ...}); unset: action fails"
    )
    feature_flag_url: str | None = Field(
        None, description="webhook that switches a feature flag (POST {flag, enabled, ...}); unset: action fails"
    )
    webhook_token: SecretStr | None = Field(None, description="bearer token sent to the two webhooks above")
    approval_token: SecretStr | None = Field(
        None, description="bearer token the approvals HTTP endpoint wants; unset: open to whoever reaches the port"
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of the failover and feature-flag webhooks")
    coderun_namespace: str = Field("cto", description="where remediation CodeRuns are created")
    coderun_repository_url: str = Field(
        "https://github.com/5dlabs/cto", description="CodeRun spec.repositoryUrl for remediation runs"
    )
    coderun_docs_repository_url: str = Field(
        "https://github.com/5dlabs/cto", description="CodeRun spec.docsRepositoryUrl for remediation runs"
    )
    coderun_working_directory: str = Field(".", description="CodeRun spec.workingDirectory")
    coderun_model: str = Field("claude-sonnet-4-20250514", description="CodeRun spec.model")
    coderun_github_app: str = Field("5DLabs-Rex", description="CodeRun spec.githubApp (and implementationAgent)")
    coderun_service: str = Field("healer", description="CodeRun spec.service")


class NotifierSettings(Section):
    console: bool = Field(True, description="print notifications on the notifier's standard output")
    webhook_url: str | None = Field(None, description="POST every notification as signed JSON to this URL")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Healer-Signature")
    slack_webhook_url: SecretStr | None = Field(
        None, description="Slack incoming-webhook URL; posts without threads when no slack_token is set"
    )
    slack_token: SecretStr | None = Field(
        None, description="Slack bot token (xoxb-...): one thread per incident, its root message kept up to date"
    )
    slack_channel: str = Field("#healer", description="Slack channel (name or id) that incident threads go to")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    pagerduty_routing_key: SecretStr | None = Field(None, description="PagerDuty Events API v2 routing key")
    pagerduty_events_url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint"
    )
    pagerduty_webhook_secret: SecretStr | None = Field(
        None,
        description="secret of the PagerDuty v3 webhook subscription whose acknowledgements arrive on the "
        "notifier's POST /pagerduty/webhook; the endpoint refuses everything while unset",
    )
    github_token: SecretStr | None = Field(None, description="GitHub token for issues about workflow failures")
    github_repo: str | None = Field(
        None, pattern=r"^[\w.-]+/[\w.-]+$", description="owner/repo where agent-workflow failures become issues"
    )
    github_api_url: str = Field("https://api.github.com", description="GitHub REST API base URL")
    github_family_window_s: float = Field(
        1800.0, ge=0, description="an open issue of the same alert id younger than this gets a comment, not a twin"
    )
    smtp_host: str | None = Field(None, description="SMTP server for the daily digest; no digest while unset")
    smtp_port: int = Field(587, gt=0, le=65_535, description="SMTP port")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls on a plain port, tls from the first byte (465), or none (local relays)"
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    digest_from: str = Field("healer@localhost", description="From: of the daily digest")
    digest_to: list[str] = Field(default_factory=list, description="recipients of the daily digest")
    digest_at: str = Field(
        "08:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="UTC time of day the digest of the 24 hours before goes out",
    )
    timeout_s: float = Field(5.0, gt=0, description="HTTP timeout per delivery attempt")
    receivers: dict[str, list[ChannelName]] = Field(
        default_factory=dict,
        description=f"named channel sets routes send to; '{DEFAULT_RECEIVER}' (every configured channel) needs none",
    )
    route: RootRoute = RootRoute()
    escalations: dict[str, EscalationPolicy] = Field(
        default_factory=dict, description="named escalation policies (levels with delay and channels) for routes"
    )
    escalation_tick_s: float = Field(5.0, gt=0, description="how often due escalation levels are looked for")
    delivery: DeliveryPolicy = DeliveryPolicy()

    def configured_channels(self) -> list[ChannelName]:
        """The channels that have what they need to deliver, in CHANNEL_NAMES order."""
        ready: dict[ChannelName, bool] = {
            "console": self.console,
            "webhook": self.webhook_url is not None,
            "slack": self.slack_token is not None or self.slack_webhook_url is not None,
            "pagerduty": self.pagerduty_routing_key is not None,
            "github": self.github_token is not None and self.github_repo is not None,
        }
        return [name for name in CHANNEL_NAMES if ready[name]]

    @model_validator(mode="after")
    def _routes_refer_to_what_exists(self) -> NotifierSettings:
        """A route naming a missing receiver or policy, or a channel with no credentials, fails at load."""
        problems = [*notifier_config.route_problems(self.route, set(self.receivers), set(self.escalations))]
        usable = set(self.configured_channels())
        named = [(f"receivers.{n}", c) for n, cs in self.receivers.items() for c in cs]
        named += [
            (f"escalations.{n}.levels.{i}", c)
            for n, p in self.escalations.items()
            for i, level in enumerate(p.levels)
            for c in level.channels
        ]
        problems += [
            f"notifier.{where}: channel {channel} is not configured ({notifier_config.NEEDS[channel]})"
            for where, channel in named
            if channel not in usable
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class MemorySettings(Section):
    openmemory_url: str | None = Field(None, description="OpenMemory server; the embedded store is used when unset")
    openmemory_api_key: SecretStr | None = Field(None, description="OpenMemory API key (sent as x-api-key)")
    openmemory_user_id: str | None = Field(
        None, description="user_id sent to OpenMemory <= 1.3.0, which scopes by it; newer servers scope by the key"
    )
    openmemory_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout per OpenMemory call")
    openmemory_retries: int = Field(
        3, ge=0, le=10, description="retries of an OpenMemory call on connection errors, 429 and 503, with backoff"
    )
    store_path: Path = Field(Path(".healer/memory.sqlite3"), description="embedded store when no OpenMemory")
    salience_floor: float = Field(
        0.3, ge=0, le=1, description="memories whose decayed salience is below this are stale and never selected"
    )
    min_relevance: float = Field(
        0.2, ge=0, le=1, description="matches less relevant than this (0-1) are left out of answers"
    )
    reinforce_boost: float = Field(
        0.15, ge=0, le=1, description="salience added to a memory that contributed to a successful remediation"
    )
    reinforce_on_query: bool = Field(
        False, description="also reinforce every memory a query returns (OpenMemory does; off keeps reads pure)"
    )
    repeat_weight: float = Field(
        10.0,
        ge=1,
        description="how many observations one outcome on the same workload and alert counts as in a "
        "recommendation's confidence; 10 lets one verified fix of the same incident reach 0.917",
    )
    prediction_salience: float = Field(
        0.8, ge=0, le=1, description="only patterns whose salience is above this raise H10 predictions"
    )
    recent_window_s: float = Field(
        3600.0, gt=0, description="alerts and changes this recent are the current conditions predictions match"
    )
    prediction_lead_s: float = Field(
        3600.0, gt=0, description="a weekly pattern raises H10 this long before its hour comes"
    )
    analysis_idle_s: float = Field(
        900.0, gt=0, description="memory-bridge analyses history once no alert or incident was seen this long"
    )
    analysis_interval_s: float = Field(
        86_400.0, gt=0, description="at most one idle-time analysis per this many seconds"
    )
    analysis_window_s: float = Field(
        7 * 86_400.0, gt=0, description="how much history the idle-time analysis reads (a week finds weekly patterns)"
    )
    correlation_window_s: float = Field(
        1800.0, gt=0, description="an alert this soon after another (or after a change) counts as following it"
    )
    min_support: int = Field(3, ge=2, description="a pattern needs at least this many occurrences to be reported")
    exhaustion_threshold: float = Field(
        0.8, gt=0, le=1, description="usage ratio at which a resource counts as exhausted (H2's 80 %)"
    )
    exhaustion_horizon_s: float = Field(
        7 * 86_400.0, gt=0, description="exhaustion predicted further ahead than this is not reported"
    )


class _LegacyEnvSource(PydanticBaseSettingsSource):
    """Reads the environment names today's Healer uses; `HEALER_*` names win over them."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002 - abstract signature
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for env_name, (section, key) in LEGACY_ENV.items():
            if value := os.environ.get(env_name):
                found.setdefault(section, {})[key] = value
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HEALER_",
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    config: Path | None = Field(None, description="YAML file with any of these settings (HEALER_CONFIG)")
    nats: NatsSettings = NatsSettings()
    redis: RedisSettings = RedisSettings()
    bus: BusSettings = BusSettings()
    log: LogSettings = LogSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    http: HttpSettings = HttpSettings()
    cluster: ClusterSettings = ClusterSettings()
    collector: CollectorSettings = CollectorSettings()
    detector: DetectorSettings = DetectorSettings()
    correlator: CorrelatorSettings = CorrelatorSettings()
    remediator: RemediatorSettings = RemediatorSettings()
    notifier: NotifierSettings = NotifierSettings()
    memory: MemorySettings = MemorySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files: config is env or YAML
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - secrets come through env in k8s
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = init_settings().get("config") or os.environ.get("HEALER_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            _LegacyEnvSource(settings_cls),
        ]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=Path(yaml_file)))
        return tuple(sources)

    @property
    def space(self) -> SubjectSpace:
        return self.bus.space

    def http_port(self, service: str) -> int:
        return self.http.port_of(service)


CLI_ENV_PREFIXES = ("HEALER_UP_", "HEALER_SANDBOX_")  # options of CLI commands, not settings


def setting_env_names(model: type[BaseModel] = Settings, path: tuple[str, ...] = ()) -> dict[str, bool]:
    """Every `HEALER_*` name that sets something, mapped to whether it is a dict (which takes `__<key>` below)."""
    names: dict[str, bool] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(setting_env_names(annotation, (*path, name)))
        else:
            env = "HEALER_" + "__".join(p.upper() for p in (*path, name))
            names[env] = getattr(annotation, "__origin__", None) is dict
    return names


def _squash(name: str) -> str:
    return name.replace("_", "")


def unknown_env(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """`HEALER_*` variables that set nothing, each with a suggestion, so a typo fails loudly instead of silently."""
    known = setting_env_names()
    by_squash = {_squash(n): n for n in known}
    problems = []
    for name in sorted(environ):
        if not name.startswith("HEALER_") or name in known or name.startswith(CLI_ENV_PREFIXES):
            continue
        if any(name.startswith(f"{k}__") for k, is_dict in known.items() if is_dict):
            continue
        guess = by_squash.get(_squash(name))
        if guess or "__" in name:
            hint = f"did you mean {guess}?" if guess else "no such setting (see `healer config table`)"
            problems.append(f"{name}: {hint}")
    return problems


def _got(value: Any) -> str:
    """The offending value, unless it is a whole section: that would print its secrets too."""
    return "" if isinstance(value, dict) else f" (got {value!r})"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate settings, or raise ConfigError naming each bad field and why."""
    if typos := unknown_env(os.environ):
        raise ConfigError(f"unknown environment variables: {'; '.join(typos)}", source="environment")
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"config file {config} does not exist or is not a file", field="config")
        overrides["config"] = config
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}{_got(err.get('input'))}"
            for err in exc.errors()
        )
        source = str(config or os.environ.get("HEALER_CONFIG") or "environment")
        raise ConfigError(f"invalid settings: {problems}", source=source) from None
