"""The scenario format: YAML files in `scenarios/` (one incident each, plus `cluster.yaml`, the platform they
all run on), loaded and validated at start so that a mistake names the file, the field and the reason.

A scenario declares the objects it needs (nodes, deployments, volumes, Argo CD applications, certificates)
and the `plays` that drive it over scenario time (a memory leak, a filling volume, a drift, a rollout, a
crash loop, log lines, gauges and backlogs of the metric signals in `healer_common.contract.signals`).
Scenario time runs `speed` times faster than the wall clock, so an hour-long incident plays in minutes. Pull
request stories play on the sandbox's GitHub (github.py). See docs/sandbox.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from healer_common.contract.signals import METRICS
from healer_common.durations import Duration, parse_duration
from healer_common.errors import ConfigError
from healer_sandbox.units import parse_quantity

BASE = "cluster"  # the platform every scenario runs on; always loaded
Quantity = Annotated[float, BeforeValidator(parse_quantity), Field(gt=0)]
Ratio = Annotated[float, Field(ge=0, le=1.5)]
Ref = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", max_length=63)]


class ScenarioError(ConfigError):
    """A scenario file that cannot be played: its path, the field and the reason."""


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSpec(Spec):
    name: Name
    cpu: str = "8"
    memory: Quantity = parse_quantity("32Gi")
    pods: int = Field(110, ge=1)
    labels: dict[str, str] = Field(default_factory=dict)
    dedicated: Name | None = None  # label and taint dedicated=<value>:NoSchedule: only pods dedicated to it run here


class DeploymentSpec(Spec):
    name: Name
    namespace: Name
    image: str
    replicas: int = Field(1, ge=0)
    container: Name | None = None
    memory_limit: Quantity = parse_quantity("512Mi")
    memory_request: Quantity = parse_quantity("256Mi")
    cpu_request: str = "100m"
    env: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    application: Name | None = None
    volumes: list[Name] = Field(default_factory=list)
    service_port: int | None = Field(None, ge=1, le=65535)
    memory_at_rest: Ratio = 0.3
    dedicated: Name | None = None  # run only on the nodes dedicated to this value (selector and toleration)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


class VolumeSpec(Spec):
    name: Name
    namespace: Name
    capacity: Quantity
    node: Name | None = None
    storage_class: str = "local-path"
    usage: Ratio = 0.3

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


class ApplicationSpec(Spec):
    name: Name
    namespace: Name = "argocd"
    project: str = "default"
    repo: str
    path: str
    revision: str
    destination_namespace: Name
    chart_version: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


class CertificateSpec(Spec):
    name: Name
    namespace: Name
    dns_names: list[str] = Field(min_length=1)
    expires_in: Duration
    valid_for: Duration = parse_duration("90d")
    renew_before: Duration = parse_duration("30d")
    issuer: str = "letsencrypt-prod"
    secret: Name | None = None

    @property
    def secret_name(self) -> str:
        return self.secret or self.name


class MemoryLeak(Spec):
    """Each container's working set starts at `start` of its limit and grows `per_minute` until `oom_at`,
    when the kernel kills it (OOMKilled) and the kubelet restarts it. The leak is in the work the Deployment
    does, so it is divided among replicas: with two, each pod leaks half as fast (what a pod has leaked stays
    until it restarts). With `lasts`, the work (and the leak) ends that long after the play starts."""

    deployment: Ref
    start: Ratio
    per_minute: Annotated[float, Field(gt=0)]
    oom_at: Ratio = 1.0
    lasts: Duration | None = None


class PvcFill(Spec):
    """The volume fills `per_minute` from `start`, up to `max`; a Job mounting it clears it to `cleanup_to`."""

    pvc: Ref
    start: Ratio
    per_minute: Annotated[float, Field(gt=0)]
    max: Ratio = 0.99
    cleanup_to: Ratio = 0.3


class SyncDrift(Spec):
    """At `at` the Git target moves ahead by `behind` commits and the Application goes OutOfSync."""

    application: Ref
    at: Duration = 0.0
    behind: int = Field(3, ge=1)
    target_revision: str
    degraded: bool = False


class Rollout(Spec):
    """At `at` the Deployment's template changes (a deploy): a new image and/or environment."""

    deployment: Ref
    at: Duration
    image: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    pullable: bool = True


class CrashLoop(Spec):
    """From `at`, the Deployment's containers exit (`exit_code`) `after` each start and never get ready:
    CrashLoopBackOff, until the Deployment is rolled out again (a restart or a rollback changes its template)."""

    deployment: Ref
    at: Duration = 0.0
    after: Duration = 5.0
    exit_code: int = Field(1, ge=1, le=255)


class LogLines(Spec):
    """Pods of the Deployment (those with `when_env` in their environment, if given; only while the
    `while_down` Deployment has no ready replica, if given) log `lines` in turn, `per_minute` per pod;
    `{pod}`, `{namespace}` and `{n}` are filled in."""

    deployment: Ref
    lines: list[str] = Field(min_length=1)
    per_minute: Annotated[float, Field(gt=0)]
    level: Literal["debug", "info", "warn", "error"] = "error"
    at: Duration = 0.0
    when_env: dict[str, str] = Field(default_factory=dict)
    while_down: Ref | None = None


class Gauge(Spec):
    """A metric signal going from `start` at `per_minute` (from `at`), kept within [min, max]; with
    `shared_by` the value is load shared by that Deployment's replicas (scaling up lowers it)."""

    signal: str
    labels: dict[str, str]
    start: float
    per_minute: float = 0.0
    at: Duration = 0.0
    min: float = 0.0
    max: float = float("inf")
    shared_by: Ref | None = None

    @model_validator(mode="after")
    def _known_signal(self) -> Gauge:
        if self.signal not in METRICS:
            raise ValueError(f"signal {self.signal!r} is not in healer_common.contract.signals.METRICS")
        missing = [k for k in METRICS[self.signal].labels if k not in self.labels]
        if missing:
            raise ValueError(f"labels lack {', '.join(missing)}, which signal {self.signal} carries")
        return self


class Backlog(Gauge):
    """A queue: `per_minute` jobs arrive, each replica of `consumers` takes `drain_per_replica` a minute."""

    consumers: Ref
    drain_per_replica: Annotated[float, Field(ge=0)]


Login = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.\[\]]*$")]
Repository = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]


class CommitStep(Spec):
    """A commit on the PR's branch by `by`; `ago` back-dates it by that much wall-clock time (history made
    before the story began: what makes progress stale)."""

    by: Login
    message: str = "work in progress"
    ago: Duration = 0.0


class CommentStep(Spec):
    by: Login
    body: str = Field(min_length=1)


class ReviewStep(Spec):
    by: Login
    state: Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED"]
    body: str = ""


class CheckStep(Spec):
    """A check run (or, with `workflow`, a GitHub Actions workflow run) on the PR's head, completed."""

    name: str = Field(min_length=1)
    conclusion: Literal["success", "failure", "timed_out", "cancelled", "neutral", "skipped"]
    workflow: bool = False


class AgentStep(Spec):
    """An agent takes up the task: a CodeRun for it (its controller starts the agent pod), working `runs`."""

    app: Login
    runs: Duration = parse_duration("30m")
    priority: Literal["critical", "high", "normal", "low"] | None = None


class StoryStep(Spec):
    """One step of a pull request's story, at `at` (scenario time): exactly one of the other keys."""

    at: Duration = 0.0
    commit: CommitStep | None = None
    comment: CommentStep | None = None
    review: ReviewStep | None = None
    check: CheckStep | None = None
    agent: AgentStep | None = None
    merge: bool | None = None
    close: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StoryStep:
        if len(self.model_fields_set - {"at"}) != 1:
            kinds = ", ".join(k for k in StoryStep.model_fields if k != "at")
            raise ValueError(f"a step has `at` and exactly one of: {kinds}")
        return self

    @property
    def kind(self) -> str:
        return next(iter(self.model_fields_set - {"at"}))


class PullRequestStory(Spec):
    """A pull request of the sandbox's GitHub, opened when the play starts, whose `steps` play in order: the
    agents (pods labelled `agent` and `task-id`) and their commits, comments, reviews and checks. The PR's
    branch names its task (`task-<task>`), which joins it to the agents' pods."""

    repository: Repository
    number: int = Field(ge=1)
    task: int = Field(ge=0)
    title: str = Field(min_length=1)
    opened_by: Login = "5DLabs-Rex"
    namespace: Name = "cto"
    steps: list[StoryStep] = Field(default_factory=list)

    @property
    def branch(self) -> str:
        return f"feature/task-{self.task}"


class ApiQuota(Spec):
    """Other clients of the sandbox's GitHub spend its hourly quota: `per_minute` requests a minute (scenario
    time) from `at`, of a quota of `limit`."""

    per_minute: Annotated[float, Field(gt=0)]
    at: Duration = 0.0
    limit: int = Field(5_000, ge=1)


class NodeDown(Spec):
    """From `at`, for `lasts`, the node is down: its kubelet stops posting status (Ready Unknown) or, with
    `kubelet_stopped: false`, it reports NotReady; its pods are marked not ready; nothing new is scheduled there.
    Draining it moves its pods to nodes that are up."""

    node: Name
    at: Duration = 0.0
    lasts: Duration = parse_duration("30m")
    kubelet_stopped: bool = True


class PlayEntry(Spec):
    """One entry of `plays`: exactly one key, the play's kind."""

    memory_leak: MemoryLeak | None = None
    pvc_fill: PvcFill | None = None
    sync_drift: SyncDrift | None = None
    rollout: Rollout | None = None
    crash_loop: CrashLoop | None = None
    log_lines: LogLines | None = None
    gauge: Gauge | None = None
    backlog: Backlog | None = None
    pull_request: PullRequestStory | None = None
    api_quota: ApiQuota | None = None
    node_down: NodeDown | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PlayEntry:
        if len(self.model_fields_set) != 1:
            raise ValueError(f"a play has exactly one key, one of: {', '.join(PlayEntry.model_fields)}")
        return self

    @property
    def play(self) -> Spec:
        play: Spec = getattr(self, next(iter(self.model_fields_set)))
        return play


class Scenario(Spec):
    name: Name
    summary: str
    alerts: list[str] = Field(default_factory=list, description="the alerts this scenario is meant to raise")
    nodes: list[NodeSpec] = Field(default_factory=list)
    namespaces: list[Name] = Field(default_factory=list)
    deployments: list[DeploymentSpec] = Field(default_factory=list)
    volumes: list[VolumeSpec] = Field(default_factory=list)
    applications: list[ApplicationSpec] = Field(default_factory=list)
    certificates: list[CertificateSpec] = Field(default_factory=list)
    plays: list[PlayEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        """Plays and deployments refer only to what this file declares, so a scenario reads on its own."""
        deployments = {d.ref for d in self.deployments}
        volumes = {v.ref for v in self.volumes}
        applications = {a.ref for a in self.applications}
        for d in self.deployments:
            for claim in d.volumes:
                if f"{d.namespace}/{claim}" not in volumes:
                    raise ValueError(f"deployment {d.ref} mounts volume {claim}, which is not under volumes")
        wanted = {
            "deployment": deployments,
            "consumers": deployments,
            "shared_by": deployments,
            "while_down": deployments,
        }
        wanted |= {"pvc": volumes, "application": applications, "node": {n.name for n in self.nodes}}
        for index, entry in enumerate(self.plays):
            for field, known in wanted.items():
                ref = getattr(entry.play, field, None)
                if ref is not None and ref not in known:
                    kind = next(iter(entry.model_fields_set))
                    raise ValueError(f"plays[{index}].{kind}.{field}: {ref} is not declared in this scenario")
        return self

    def used_namespaces(self) -> list[str]:
        items: list[DeploymentSpec | VolumeSpec | ApplicationSpec | CertificateSpec] = [
            *self.deployments,
            *self.volumes,
            *self.applications,
            *self.certificates,
        ]
        found = [*self.namespaces, *(i.namespace for i in items), *(a.destination_namespace for a in self.applications)]
        return list(dict.fromkeys(found))


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "<top>"


def parse(text: str, source: str) -> Scenario:
    """A scenario from YAML text; ScenarioError names `source`, the field and the reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", source=source) from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a YAML mapping with name, summary and plays", source=source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(tuple(err['loc']))}: {err['msg'].removeprefix('Value error, ')}"
            + (f" (got {err['input']!r})" if err["type"] != "missing" and not isinstance(err["input"], dict) else "")
            for err in exc.errors()
        )
        raise ScenarioError(f"invalid scenario: {problems}", source=source) from None


def builtin_files() -> dict[str, Path]:
    """The scenarios shipped in the package, by name (file stem), the base cluster excluded."""
    folder = Path(str(resources.files("healer_sandbox") / "scenarios"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml")) if p.stem != BASE}


def base_cluster() -> Scenario:
    path = Path(str(resources.files("healer_sandbox") / "scenarios" / f"{BASE}.yaml"))
    return parse(path.read_text(), str(path))


def load(choices: list[str]) -> list[Scenario]:
    """Scenarios by name (built in) or by path to a YAML file; none chosen means all built-in ones."""
    builtin = builtin_files()
    chosen: list[Scenario] = []
    for choice in choices or list(builtin):
        path = builtin.get(choice) or Path(choice)
        if not path.is_file():
            raise ScenarioError(
                f"no scenario {choice!r}: give a file path or one of {', '.join(builtin)}", field="--scenario"
            )
        chosen.append(parse(path.read_text(), str(path)))
    names = [s.name for s in chosen]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ScenarioError(f"scenario {', '.join(duplicates)} chosen twice", field="--scenario")
    return chosen
