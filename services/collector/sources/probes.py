"""The probes source: HTTP checks of your services and the APIs the platform leans on (GitHub, model
providers, any URL), each on its own interval.

    probe_success, probe_duration_seconds      every run
    probe_tls_expiry_seconds                   https targets: the server certificate's notAfter
    ratelimit_remaining_ratio,                 when the answer announces a quota (ratelimit.py reads the
    probe_ratelimit_remaining,                 GitHub, OpenAI, Anthropic and IETF headers, and Retry-After)
    probe_ratelimit_reset_seconds
    ratelimit_exhausted_in_seconds             when the quota runs out at its recent rate (quota.py)
    probe_error_budget_remaining_ratio         targets with an `slo`: the error budget left in its window
    ProbeFailed / ProbeSucceeded               on transitions: an unexpected status, a timeout, a refused
                                               connection, a TLS failure
    RateLimited                                a 429, or a 403 that says the quota is spent: the API's rate
                                               limit, not the network (retry_after_s when it says)

A connection that fails is tried again (`retry.attempts`, with backoff) before the probe counts as failed;
an answer, even a bad one, is not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from dataclasses import dataclass

import httpx
from cryptography import x509

from healer_common.clock import Clock
from healer_common.contract.events import MetricSample
from healer_common.settings.collector import ProbesSettings, ProbeTarget, RetrySettings
from services.collector.backoff import Backoff, stop_if_cancelled
from services.collector.observations import Emission, observe
from services.collector.outbox import Outbox
from services.collector.sources.quota import ErrorBudget, QuotaTrend
from services.collector.sources.ratelimit import RateLimit, rate_limit
from services.collector.transitions import TransitionMemory

SOURCE = "probes"


@dataclass(frozen=True)
class ProbeOutcome:
    target: ProbeTarget
    status: int | None
    duration_s: float
    error: str | None = None
    tls_expires: dt.datetime | None = None
    limits: RateLimit | None = None

    @property
    def up(self) -> bool:
        if self.status is None:
            return False
        expected = self.target.expect_status
        return self.status in expected if expected else 200 <= self.status < 400

    @property
    def rate_limited(self) -> bool:
        """Refused for its quota (429, or a 403 with none left), not failed."""
        spent = self.limits is not None and self.limits.remaining == 0
        return self.status == 429 or (self.status == 403 and spent)


@dataclass
class Budgets:
    """What a probe keeps between runs: each target's quota trend and error budget."""

    quota: QuotaTrend
    errors: dict[str, ErrorBudget]


def probe_emission(
    outcome: ProbeOutcome, memory: TransitionMemory, now: dt.datetime, budgets: Budgets | None = None
) -> Emission:
    """The samples of one run, and the condition when the probe went up or down."""
    name = outcome.target.name
    labels = {"target": name}
    values = {"probe_success": 1.0 if outcome.up else 0.0, "probe_duration_seconds": outcome.duration_s}
    values |= _budgets(outcome, budgets, now)
    if outcome.tls_expires is not None:
        values["probe_tls_expiry_seconds"] = (outcome.tls_expires - now).total_seconds()
    if (limits := outcome.limits) is not None:
        optional = {
            "ratelimit_remaining_ratio": limits.remaining_ratio,
            "probe_ratelimit_remaining": limits.remaining,
            "probe_ratelimit_reset_seconds": limits.reset_s,
        }
        values |= {metric: value for metric, value in optional.items() if value is not None}
    samples = [MetricSample(name=metric, value=value, labels=labels, time=now) for metric, value in values.items()]
    condition_labels = {**labels, "url": outcome.target.url}
    if outcome.status is not None:
        condition_labels["status_code"] = str(outcome.status)
    if outcome.up:
        state = observe("Probe", ("", name), "ProbeSucceeded", labels=condition_labels)
    elif outcome.rate_limited:
        if outcome.limits is not None and outcome.limits.reset_s is not None:
            condition_labels["retry_after_s"] = f"{outcome.limits.reset_s:.0f}"
        message = f"HTTP {outcome.status} from {outcome.target.url}: rate limited"
        state = observe("Probe", ("", name), "RateLimited", labels=condition_labels, message=message)
    else:
        message = outcome.error or f"HTTP {outcome.status} from {outcome.target.url}"
        state = observe("Probe", ("", name), "ProbeFailed", labels=condition_labels, message=message)
    return Emission(conditions=memory.changes(name, [state]), samples=samples)


def _budgets(outcome: ProbeOutcome, budgets: Budgets | None, now: dt.datetime) -> dict[str, float]:
    if budgets is None:
        return {}
    found: dict[str, float] = {}
    name, stamp = outcome.target.name, now.timestamp()
    if outcome.limits is not None:
        left = budgets.quota.exhausted_in(name, outcome.limits, stamp)
        if left is not None:
            found["ratelimit_exhausted_in_seconds"] = left
    if (budget := budgets.errors.get(name)) is not None:
        found["probe_error_budget_remaining_ratio"] = budget.remaining(outcome.up or outcome.rate_limited, stamp)
    return found


def peer_certificate_expiry(response: httpx.Response) -> dt.datetime | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).not_valid_after_utc if der else None


class ProbesSource:
    def __init__(self, settings: ProbesSettings, retry: RetrySettings, outbox: Outbox, clock: Clock) -> None:
        self._settings = settings
        self._retry = retry
        self._outbox = outbox
        self._clock = clock
        self._memory = TransitionMemory()
        self._budgets = Budgets(
            QuotaTrend(settings.quota_window_s),
            {
                t.name: ErrorBudget(t.slo, t.slo_window_s, t.slo_window_s / (t.interval_s or settings.interval_s))
                for t in settings.targets
                if t.slo is not None
            },
        )

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for target in self._settings.targets:
                group.create_task(self._keep_probing(target))

    async def _keep_probing(self, target: ProbeTarget) -> None:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(target.ca_file)) if target.ca_file else True
        )
        async with httpx.AsyncClient(timeout=self._settings.timeout_s, verify=verify) as http:
            while True:
                started = time.monotonic()
                outcome = await self.probe(http, target)
                stop_if_cancelled()
                await self._outbox.emit(SOURCE, probe_emission(outcome, self._memory, self._clock.now(), self._budgets))
                interval = target.interval_s or self._settings.interval_s
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def probe(self, http: httpx.AsyncClient, target: ProbeTarget) -> ProbeOutcome:
        """One check of `target`; a connection that fails is tried again before it counts."""
        headers = {name: value.get_secret_value() for name, value in target.headers.items()}
        backoff = Backoff(self._retry)
        for attempt in range(1, self._retry.attempts + 1):
            started = time.monotonic()
            try:
                async with http.stream(target.method, target.url, headers=headers) as response:
                    return ProbeOutcome(
                        target,
                        response.status_code,
                        time.monotonic() - started,
                        tls_expires=peer_certificate_expiry(response),
                        limits=rate_limit(response.headers, self._clock.now()),
                    )
            except httpx.TimeoutException:
                error = f"no answer from {target.url} within {self._settings.timeout_s}s"
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__} on {target.url}: {exc}"
            stop_if_cancelled()
            if attempt < self._retry.attempts:
                await asyncio.sleep(backoff.next())
        return ProbeOutcome(target, None, time.monotonic() - started, error=error)
