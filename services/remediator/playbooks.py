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

from healer_common.contract.alerts import Severity
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


def _where(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "<document>"


def _invalid(exc: ValidationError, source: str, prefix: str = "") -> ConfigError:
    problems = [f"{prefix}{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
    first = problems[0].split(":", 1)[0]
    return ConfigError(f"invalid playbook: {'; '.join(problems)}", field=first, source=source)


def _compile_action(
    index: int, spec: ActionSpec, traits: Mapping[str, ActionTraits], earlier: list[str], source: str
) -> PlaybookAction:
    where = f"spec.actions[{index}]"
    kind = traits.get(spec.type)
    if kind is None:
        known = ", ".join(sorted(traits))
        raise ConfigError(f"unknown action type {spec.type!r}; known: {known}", field=f"{where}.type", source=source)
    try:
        params = kind.params.model_validate(spec.params)
    except ValidationError as exc:
        raise _invalid(exc, source, f"{where}.params.") from None
    name = spec.name or kind.verb
    if name in earlier:
        raise ConfigError(f"two actions are named {name!r}; give one a `name`", field=f"{where}.name", source=source)
    _check_condition(spec.condition, earlier, f"{where}.condition", source)
    return PlaybookAction(
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


def _check_condition(condition: str, earlier: list[str], field: str, source: str) -> None:
    if condition == "always":
        return
    ref, _, outcome = condition.rpartition("_")
    if outcome not in {"failed", "succeeded"} or not ref:
        raise ConfigError(
            f"condition {condition!r} must be `always`, `<action>_failed` or `<action>_succeeded`",
            field=field,
            source=source,
        )
    if ref not in earlier:
        names = ", ".join(earlier) or "none"
        raise ConfigError(
            f"condition {condition!r} names {ref!r}, which is not an earlier action (earlier: {names})",
            field=field,
            source=source,
        )


def compile_playbook(
    document: Any, traits: Mapping[str, ActionTraits], source: str, *, where: str | None = None
) -> Playbook:
    """Validate one RemediationPlaybook document; ConfigError names the field and the reason (and `where`)."""
    where = where or source
    if not isinstance(document, dict):
        raise ConfigError(f"a playbook is a mapping, got {type(document).__name__}", source=where)
    try:
        doc = PlaybookDocument.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc, where) from None
    actions: list[PlaybookAction] = []
    for index, spec in enumerate(doc.spec.actions):
        actions.append(_compile_action(index, spec, traits, [a.name for a in actions], where))
    return Playbook(
        name=doc.metadata.name,
        source=source,
        description=doc.spec.description,
        priority=doc.spec.priority,
        dry_run=doc.spec.dry_run,
        trigger=doc.spec.trigger,
        actions=tuple(actions),
        rollback=doc.spec.rollback,
        document={k: v for k, v in document.items() if k != "status"},
    )


def parse_documents(text: str, source: str) -> list[Any]:
    """The YAML documents in a file (`---` separated), empty ones dropped."""
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=source) from None


def compile_text(text: str, traits: Mapping[str, ActionTraits], source: str) -> list[Playbook]:
    """Every playbook in a YAML text; one bad document rejects the text, naming the document."""
    documents = parse_documents(text, source)
    playbooks = [
        compile_playbook(doc, traits, source, where=f"{source}, document {i + 1}" if len(documents) > 1 else source)
        for i, doc in enumerate(documents)
    ]
    names = [p.name for p in playbooks]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"playbook names repeat: {', '.join(dupes)}", field="metadata.name", source=source)
    return playbooks
