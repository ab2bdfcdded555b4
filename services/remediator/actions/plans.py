"""What every action shares: it first *plans* (reads the cluster, decides, and describes each mutating call
exactly), then the plan is carried out, or, in a dry run, only reported. Because a mutating request can only
happen inside a `Call.perform`, and a dry run never calls one, a dry run makes no change by construction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from healer_common.clock import Clock
from healer_common.contract.events import ResourceRef
from healer_common.contract.remediations import RemediationStep
from healer_common.runtime.leadership import check_acting
from healer_common.settings import RemediatorSettings


class ActionFailed(Exception):
    """The action cannot be planned or carried out; the message says why, for the step and the audit."""


class NotConfigured(ActionFailed):
    """The action needs something Healer was not given (a webhook URL): the playbook goes on to its fallback,
    but nothing was tried, so neither the breaker nor the playbook's confidence counts it."""


class TargetNotFound(ActionFailed):
    """The object the action is about does not exist (any more): nothing to heal, which is no failure."""


CLUSTER_ERRORS = (ApiException, urllib3.exceptions.HTTPError, httpx.HTTPError, OSError)
"""What talking to the cluster or a webhook can raise: refused, unreachable, timed out."""


class Params(BaseModel):
    """An action's `params` in a playbook: camelCase as Kubernetes writes it, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


Protection = Callable[[ResourceRef, dict[str, str]], "str | None"]
"""Why Healer must not touch an object (guards.refusal bound to the policy), or None."""


@dataclass(frozen=True)
class RunContext:
    """What an action knows of the run it belongs to (CodeRuns and webhooks carry it on)."""

    remediation_id: str
    incident_id: str
    cluster: str
    alert_ids: tuple[str, ...]
    target: ResourceRef
    labels: dict[str, str]
    title: str
    workload: ResourceRef | None = None  # the Deployment behind a pod target, found when the run began
    context: str = ""  # the incident's story, for an AI agent
    memory_context: str = ""  # what memory said about it (left out of a CodeRun with use_memory false)


@dataclass(frozen=True)
class ActionContext:
    api: client.ApiClient | None
    http: httpx.AsyncClient
    clock: Clock
    settings: RemediatorSettings
    run: RunContext
    protected: Protection


@dataclass(frozen=True)
class Call:
    """One mutating request, described exactly as it would be sent, made only when not a dry run."""

    description: str
    perform: Callable[[], Awaitable[object]]
    independent: bool = False  # a failure does not stop the calls after it (one eviction per pod)


@dataclass(frozen=True)
class ActionPlan:
    summary: str
    obj: ResourceRef  # what it changes: the guards judge this object and its labels
    labels: dict[str, str]
    calls: tuple[Call, ...]
    undo: dict[str, Any] | None = None  # JSON data its reversal needs; None: nothing to undo
    notes: tuple[str, ...] = ()  # e.g. protected pods a drain left alone
    cluster_change: bool = True  # counts against the rate limit (notify and escalate do not)
    follow: tuple[str, str] | None = None  # (namespace, name) of the CodeRun a hand-off is followed through


@dataclass(frozen=True)
class Outcome:
    step: RemediationStep
    undo: dict[str, Any] | None = None
    follow: tuple[str, str] | None = None


def _failure(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status}: {exc.reason}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}: {exc.response.text[:200]}"
    return str(exc) or type(exc).__name__


def _step(
    action: str, outcome: str, detail: str, *, calls: list[str], started: dt.datetime, clock: Clock
) -> RemediationStep:
    return RemediationStep.model_validate(
        {
            "action": action,
            "outcome": outcome,
            "detail": detail,
            "api_calls": calls,
            "started_at": started,
            "finished_at": clock.now(),
        }
    )


async def carry_out(action: str, plan: ActionPlan, clock: Clock, *, dry_run: bool) -> Outcome:
    """Make the plan's calls in order (none in a dry run); a failure ends it unless the call is independent."""
    started = clock.now()
    calls = [c.description for c in plan.calls]
    note = f" ({'; '.join(plan.notes)})" if plan.notes else ""
    if dry_run:
        would = "; ".join(calls) or "no API call"
        return Outcome(
            _step(
                action,
                "dry_run",
                f"dry run: would {plan.summary}{note}; calls: {would}",
                calls=calls,
                started=started,
                clock=clock,
            )
        )
    failures: list[str] = []
    done = 0
    for call in plan.calls:
        check_acting()  # before each call: a replica whose lease lapsed mid-plan (stalled) stops here
        try:
            await call.perform()
        except (*CLUSTER_ERRORS, ActionFailed) as exc:
            failures.append(f"{call.description} -> {_failure(exc)}")
            if not call.independent:
                break
        else:
            done += 1
    if failures:
        progress = f" ({done} of {len(calls)} calls succeeded)" if done else ""
        detail = "; ".join(failures) + progress
        return Outcome(
            _step(action, "failed", detail, calls=calls, started=started, clock=clock), plan.undo if done else None
        )
    return Outcome(
        _step(action, "ok", f"{plan.summary}{note}", calls=calls, started=started, clock=clock), plan.undo, plan.follow
    )


def failed_step(action: str, reason: str, clock: Clock, calls: list[str] | None = None) -> RemediationStep:
    now = clock.now()
    return RemediationStep(
        action=action, outcome="failed", detail=reason, api_calls=calls or [], started_at=now, finished_at=now
    )


def not_connected(summary: str, obj: ResourceRef, *descriptions: str) -> ActionPlan:
    """The plan of an action when no cluster is configured: what it would do, with nothing it could do."""

    async def impossible() -> object:
        raise ActionFailed("no cluster is configured")

    calls = tuple(Call(d, impossible) for d in descriptions)
    return ActionPlan(f"{summary} (no cluster is configured)", obj, {}, calls, undo=None)
