"""The RemediationPlaybook format (healer.platform/v1): what operators declare, in files or as custom resources,
and its validation at load. A bad playbook is rejected with the field's path and the reason, never half-used.

    apiVersion: healer.platform/v1
    kind: RemediationPlaybook
    metadata: {name: oom-restart-then-scale}
    spec:
      trigger:   {alerts: [H8], targetKinds: [Pod], conditions: [{metric: restarts, operator: ">=", value: 3}]}
      actions:
        - {type: restart_pod, timeout: 2m}
        - {type: scale_up, condition: restart_failed, params: {by: 1, maxReplicas: 5}}
      rollback:  {enabled: true, window: 30m}

The seed's own way of writing one is read as it is: `trigger.alert: H8` (one id), conditions with
`threshold` and `duration` (the condition must have held that long), `retry: 3` (attempts), and an action's
params written beside its type (`replicas: +1`, `channel: pagerduty`), so its example validates verbatim.
An action may set its own `approvalTimeout` and `onApprovalTimeout` (approve or deny), e.g. 5m for a rollback.

Action types and their params are not known here: the caller passes the table of `ActionTraits` (the
remediator's actions/ catalogue), so this module stays pure and the CLI validates with the same table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from healer_common.contract.alerts import CATALOGUE, Severity
from healer_common.durations import parse_duration
from healer_common.errors import ConfigError

API_VERSION = "healer.platform/v1"
KIND = "RemediationPlaybook"
Reversal = Literal["none", "temporary", "on_failure", "on_harm", "on_recovery"]
Operator = Literal[">", ">=", "<", "<=", "==", "!="]
_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


@dataclass(frozen=True)
class ActionTraits:
    """What the playbook format needs to know of an action type (the catalogue in actions/ supplies it)."""

    verb: str  # how conditions name it: restart_pod -> restart, so `restart_failed`
    safe: bool  # False: a human approves each run of it
    verifies: bool  # True: wait for the alert to resolve before judging it; False: its API result is its outcome
    reversal: Reversal
    params: type[BaseModel]
    default_retry: int = 1
    target_kinds: tuple[str, ...] = ()  # the kinds of target it can act on; empty: any
    follows: bool = False  # a hand-off followed to its end (a CodeRun): its outcome and the alert judge it


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {seconds:g}s")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive)]
"""Seconds, written as a number or in the one duration grammar (30s, 5m, 1h30m, 1d)."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class MetricCondition(_Spec):
    """A number the alert carries compared with a value, e.g. restarts >= 3 or memory_usage_percent > 95, and
    how long the alert must have fired before it counts (matching.py reads the number)."""

    metric: str = Field(min_length=1, max_length=63)
    operator: Operator = ">"
    value: float = Field(description="the value compared with (the seed writes it `threshold`)")
    duration: Duration | None = Field(None, description="the alert must have fired this long")

    @model_validator(mode="before")
    @classmethod
    def _threshold_is_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and "threshold" in data:
            if "value" in data:
                raise ValueError("give `value` or `threshold`, not both")
            data = {**{k: v for k, v in data.items() if k != "threshold"}, "value": data["threshold"]}
        return data


class Trigger(_Spec):
    alerts: list[str] = Field(min_length=1, description="catalogue ids, e.g. [H8, A7]")

    @model_validator(mode="before")
    @classmethod
    def _one_alert(cls, data: Any) -> Any:
        """The seed's `alert: H8` is `alerts: [H8]`."""
        if isinstance(data, dict) and "alert" in data:
            alerts = [data["alert"], *(data.get("alerts") or [])]
            data = {**{k: v for k, v in data.items() if k != "alert"}, "alerts": alerts}
        return data

    target_kinds: list[str] = Field(default_factory=list, description="empty: any kind of target")
    severity: Severity | None = Field(None, description="the least severe alert that triggers")
    labels: dict[str, str] = Field(default_factory=dict, description="alert labels that must match exactly")
    conditions: list[MetricCondition] = Field(default_factory=list)

    @field_validator("alerts")
    @classmethod
    def _alert_ids(cls, value: list[str]) -> list[str]:
        for alert_id in value:
            if not re.fullmatch(r"[A-Z][A-Z0-9]{1,7}", alert_id):
                raise ValueError(f"{alert_id!r} is not an alert id like H8 or A7")
        return value


class Retry(_Spec):
    attempts: int = Field(1, ge=1, le=10, description="tries in all, the first included")
    backoff: Duration = Field(30.0, description="wait between tries")

    @model_validator(mode="before")
    @classmethod
    def _count(cls, data: Any) -> Any:
        """The seed's `retry: 3` is three attempts."""
        return {"attempts": data} if isinstance(data, int) and not isinstance(data, bool) else data


class ActionSpec(_Spec):
    type: str
    name: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$", description="what conditions call it")
    condition: str = Field("always", description="always | <name>_failed | <name>_succeeded")
    timeout: Duration | None = Field(None, description="how long its result has to show (the verify window)")
    retry: Retry | None = None
    require_approval: bool = Field(False, description="ask a human even for a safe action")
    approval_timeout: Duration | None = Field(None, description="how long its approval request waits")
    on_approval_timeout: Literal["approve", "deny"] | None = Field(None, description="what no answer becomes")
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _params_beside_type(cls, data: Any) -> Any:
        """Keys that are not the action's own fields are its params, as the seed writes `replicas: +1`."""
        if not isinstance(data, dict):
            return data
        own = {f.alias or name for name, f in cls.model_fields.items()} | set(cls.model_fields)
        inline = {k: v for k, v in data.items() if k not in own}
        if not inline:
            return data
        if clash := sorted(inline.keys() & (data.get("params") or {}).keys()):
            raise ValueError(f"{', '.join(clash)} given both beside the type and under params; keep one")
        return {**{k: v for k, v in data.items() if k in own}, "params": {**(data.get("params") or {}), **inline}}


class Rollback(_Spec):
    enabled: bool = True
    window: Duration = Field(1800.0, description="temporary changes are undone when it ends")


class PlaybookSpec(_Spec):
    description: str = ""
    priority: int = Field(0, description="among playbooks that match, the highest wins")
    dry_run: bool = False
    trigger: Trigger
    actions: list[ActionSpec] = Field(min_length=1)
    rollback: Rollback = Rollback()


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=253, pattern=_NAME)


class PlaybookDocument(_Spec):
    api_version: Literal["healer.platform/v1"]
    kind: Literal["RemediationPlaybook"]
    metadata: Metadata
    spec: PlaybookSpec
    status: dict[str, Any] | None = None


class PlaybookAction(BaseModel):
    """One action as a run executes it: its spec resolved against the catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    index: int
    type: str
    name: str
    condition: str
    timeout_s: float | None
    attempts: int
    backoff_s: float
    params: dict[str, Any]
    needs_approval: bool
    verifies: bool
    reversal: Reversal
    follows: bool = False
    approval_timeout_s: float | None = None
    on_approval_timeout: Literal["approve", "deny"] | None = None


class Playbook(BaseModel):
    """A validated playbook, ready to match incidents and to be snapshotted into a run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    source: str = Field(description="builtin, a file path, or cluster:<namespace>/<name>")
    description: str
    priority: int
    dry_run: bool
    trigger: Trigger
    actions: tuple[PlaybookAction, ...]
    rollback: Rollback
    document: dict[str, Any] = Field(description="the document as written, for show and edit")

    @property
    def only_retells(self) -> bool:
        """Whether every action only tells the incident's title again (`notify` with its default message), which
        the incident's own notification already told: such a run would add a second message per incident and
        nothing else (the built-in external-alert, which relays Alertmanager's alerts), so it is not started."""
        return all(
            a.type == "notify" and a.params.get("message") == "{title}" and a.condition == "always"
            for a in self.actions
        )


Problem = tuple[str, str]
"""(field path, what is wrong with it)."""


class InvalidPlaybook(ConfigError):
    """Every problem of a playbook (or a file of them) at once, one line each in `problems`."""

    def __init__(self, problems: list[str], *, field: str, source: str | None) -> None:
        self.problems = problems
        super().__init__(f"invalid playbook: {'; '.join(problems)}", field=field, source=source)


def _where(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "<document>"


def _model_problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    return [(f"{prefix}{_where(tuple(e['loc']))}", e["msg"]) for e in exc.errors()]


def _compile_action(
    index: int, spec: ActionSpec, traits: Mapping[str, ActionTraits], earlier: list[str], trigger: Trigger
) -> tuple[PlaybookAction | None, list[Problem]]:
    where = f"spec.actions[{index}]"
    kind = traits.get(spec.type)
    if kind is None:
        return None, [(f"{where}.type", f"unknown action type {spec.type!r}; known: {', '.join(sorted(traits))}")]
    try:
        params = kind.params.model_validate(spec.params)
    except ValidationError as exc:
        return None, _model_problems(exc, f"{where}.params.")
    name = spec.name or kind.verb
    problems = _target_problems(spec.type, kind, trigger, f"{where}.type")
    if name in earlier:
        problems.append((f"{where}.name", f"two actions are named {name!r}; give one a `name`"))
    if problem := _condition_problem(spec.condition, earlier):
        problems.append((f"{where}.condition", problem))
    action = PlaybookAction(
        index=index,
        type=spec.type,
        name=name,
        condition=spec.condition,
        timeout_s=spec.timeout,
        attempts=spec.retry.attempts if spec.retry else kind.default_retry,
        backoff_s=spec.retry.backoff if spec.retry else 30.0,
        params=params.model_dump(mode="json", by_alias=True, exclude_none=True),
        needs_approval=spec.require_approval or not kind.safe,
        verifies=kind.verifies,
        reversal=kind.reversal,
        follows=kind.follows,
        approval_timeout_s=spec.approval_timeout,
        on_approval_timeout=spec.on_approval_timeout,
    )
    return action, problems


def _target_problems(action: str, kind: ActionTraits, trigger: Trigger, field: str) -> list[Problem]:
    """An action that cannot act on a kind of target the trigger lets in (restart_pod on a Node) would fail on
    every run of it; it is refused at load instead."""
    misfits = [k for k in trigger.target_kinds if kind.target_kinds and k not in kind.target_kinds]
    if not misfits:
        return []
    acts_on = ", ".join(kind.target_kinds)
    return [(field, f"{action} acts on {acts_on}, but the trigger's targetKinds also let in {', '.join(misfits)}")]


def _condition_problem(condition: str, earlier: list[str]) -> str | None:
    if condition == "always":
        return None
    ref, _, outcome = condition.rpartition("_")
    if outcome not in {"failed", "succeeded"} or not ref:
        return f"condition {condition!r} must be `always`, `<action>_failed` or `<action>_succeeded`"
    if ref not in earlier:
        names = ", ".join(earlier) or "none"
        return f"condition {condition!r} names {ref!r}, which is not an earlier action (earlier: {names})"
    return None


def _alert_problems(trigger: Trigger) -> list[Problem]:
    return [
        (f"spec.trigger.alerts[{i}]", f"unknown alert id {alert_id!r}; the catalogue has {', '.join(CATALOGUE)}")
        for i, alert_id in enumerate(trigger.alerts)
        if alert_id not in CATALOGUE
    ]


def _check_document(document: Any, traits: Mapping[str, ActionTraits]) -> tuple[Playbook | None, list[Problem]]:
    if not isinstance(document, dict):
        return None, [("<document>", f"a playbook is a mapping, got {type(document).__name__}")]
    try:
        doc = PlaybookDocument.model_validate(document)
    except ValidationError as exc:
        return None, _model_problems(exc)
    problems = _alert_problems(doc.spec.trigger)
    actions: list[PlaybookAction] = []
    for index, spec in enumerate(doc.spec.actions):
        action, found = _compile_action(index, spec, traits, [a.name for a in actions], doc.spec.trigger)
        problems += found
        actions += [action] if action is not None else []
    playbook = Playbook(
        name=doc.metadata.name,
        source="",
        description=doc.spec.description,
        priority=doc.spec.priority,
        dry_run=doc.spec.dry_run,
        trigger=doc.spec.trigger,
        actions=tuple(actions),
        rollback=doc.spec.rollback,
        document={k: v for k, v in document.items() if k != "status"},
    )
    return (None if problems else playbook), problems


def compile_playbook(
    document: Any, traits: Mapping[str, ActionTraits], source: str, *, where: str | None = None
) -> Playbook:
    """Validate one RemediationPlaybook document; InvalidPlaybook (a ConfigError) names every bad field and why."""
    playbook, problems = _check_document(document, traits)
    if playbook is None:
        lines = [f"{field}: {reason}" for field, reason in problems]
        raise InvalidPlaybook(lines, field=problems[0][0], source=where or source)
    return playbook.model_copy(update={"source": source})


def parse_documents(text: str, source: str) -> list[Any]:
    """The YAML documents in a file (`---` separated), empty ones dropped."""
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from None


def _check_text(
    text: str, traits: Mapping[str, ActionTraits], source: str
) -> tuple[list[Playbook], list[tuple[str, Problem]]]:
    documents = parse_documents(text, source)
    playbooks: list[Playbook] = []
    problems: list[tuple[str, Problem]] = []
    for index, document in enumerate(documents):
        playbook, found = _check_document(document, traits)
        where = f"{source}, document {index + 1}" if len(documents) > 1 else source
        problems += [(where, problem) for problem in found]
        playbooks += [playbook.model_copy(update={"source": source})] if playbook is not None else []
    names = [p.name for p in playbooks]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        problems.append((source, ("metadata.name", f"playbook names repeat: {', '.join(twice)}")))
    return playbooks, problems


def check_text(text: str, traits: Mapping[str, ActionTraits], source: str) -> tuple[list[Playbook], list[str]]:
    """Every playbook in a YAML text and every problem of it, each as `<file>[, document N]: <field>: <reason>`:
    what `healer playbooks validate` prints, one per line. Raises ConfigError only for text that is not YAML."""
    playbooks, problems = _check_text(text, traits, source)
    return playbooks, [f"{where}: {field}: {reason}" for where, (field, reason) in problems]


def compile_text(text: str, traits: Mapping[str, ActionTraits], source: str) -> list[Playbook]:
    """Every playbook in a YAML text; any problem rejects the text (InvalidPlaybook lists them all)."""
    playbooks, problems = _check_text(text, traits, source)
    if problems:
        lines = [f"{where}: {field}: {reason}" for where, (field, reason) in problems]
        raise InvalidPlaybook(lines, field=problems[0][1][0], source=None)
    return playbooks
