"""Failure patterns and playbook confidence tuning, from the remediations that acted in the window.

A failure pattern is a kind of incident (alert type, namespace, workload) that kept coming back or kept
defeating a playbook: how often, what failed, and the known fix (the playbook with the best record on it).
Tuning rates every playbook on every alert type with a 90 % Wilson interval: trust it when even the low end
is 80 %, avoid it when even the high end is under 50 %, review it otherwise. Pure.
"""

from __future__ import annotations

from collections import defaultdict

from healer_common.contract.remediations import Remediation
from services.memory_bridge.analysis.report import FailurePattern, MethodRecord, PlaybookTuning
from services.memory_bridge.analysis.stats import beta_mean, wilson_bounds
from services.memory_bridge.occurrences import workload_of
from services.memory_bridge.outcomes import verdict

Kind = tuple[str, str | None, str | None]
TRUST_LOWER = 0.8
AVOID_UPPER = 0.5


def kind_of(run: Remediation) -> Kind:
    target = run.target
    alert = run.alert_ids[0] if run.alert_ids else "?"
    return (alert, target.namespace if target else None, workload_of(target.name) if target else None)


def _records(runs: list[Remediation]) -> list[MethodRecord]:
    wins: dict[str, int] = defaultdict(int)
    losses: dict[str, int] = defaultdict(int)
    for run in runs:
        if verdict(run):
            wins[run.playbook] += 1
        else:
            losses[run.playbook] += 1
    return [MethodRecord(method=m, successes=wins[m], failures=losses[m]) for m in sorted({*wins, *losses})]


def find_failure_patterns(remediations: list[Remediation], min_support: int) -> list[FailurePattern]:
    by_kind: dict[Kind, list[Remediation]] = defaultdict(list)
    for run in remediations:
        if verdict(run) is not None:
            by_kind[kind_of(run)].append(run)
    found = []
    for (alert, namespace, service), runs in by_kind.items():
        incidents = len({r.incident_id for r in runs})
        methods = _records(runs)
        failures = sum(m.failures for m in methods)
        if failures == 0 or (incidents < min_support and failures < 2):
            continue
        fixes = [m for m in methods if m.successes]
        best = max(fixes, key=lambda m: beta_mean(m.successes, m.failures)) if fixes else None
        tried = "; ".join(f"{m.method} worked {m.successes} of {m.successes + m.failures}" for m in methods)
        fix = f"known fix: {best.method}" if best else "no known fix yet"
        found.append(
            FailurePattern(
                alert_type=alert,
                namespace=namespace,
                service=service,
                incidents=incidents,
                failures=failures,
                methods=methods,
                known_fix=best.method if best else None,
                description=f"{alert} on {namespace}/{service} came back {incidents} times ({tried}); {fix}",
            )
        )
    return sorted(found, key=lambda f: (-f.failures, -f.incidents))


def tune_playbooks(remediations: list[Remediation]) -> list[PlaybookTuning]:
    by_pair: dict[tuple[str, str], list[Remediation]] = defaultdict(list)
    for run in remediations:
        if verdict(run) is not None:
            by_pair[(kind_of(run)[0], run.playbook)].append(run)
    tuned = []
    for (alert, playbook), runs in sorted(by_pair.items()):
        wins = sum(1 for r in runs if verdict(r))
        lower, upper = wilson_bounds(wins, len(runs))
        call = "trust" if lower >= TRUST_LOWER else "avoid" if upper < AVOID_UPPER else "review"
        tuned.append(
            PlaybookTuning(
                alert_type=alert,
                playbook=playbook,
                successes=wins,
                failures=len(runs) - wins,
                confidence=round(beta_mean(wins, len(runs) - wins), 4),
                lower=round(lower, 4),
                upper=round(upper, 4),
                verdict=call,
                description=(
                    f"{playbook} on {alert}: {wins} of {len(runs)} worked (90 % interval {lower:.0%}-{upper:.0%}): "
                    f"{call}"
                ),
            )
        )
    return tuned
