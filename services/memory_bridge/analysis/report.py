"""What a sleep-time analysis found: the JSON report `healer analyze --output report.json` writes, and what
the insights stored in memory are made of. Each finding says it in a sentence as well as in numbers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.contract.messages import Frozen


class Correlation(Frozen):
    """`trigger` in `namespace` is followed by `predicts` (on `service`) within the window, more than chance."""

    trigger: str = Field(description="an alert id, or change:<what>")
    namespace: str | None
    predicts: str
    service: str | None
    occurrences: int = Field(description="episodes of the trigger")
    followed: int = Field(description="episodes followed by the predicted alert")
    ratio: float
    probability: float = Field(description="(1 + followed) / (2 + occurrences): what predictions quote")
    lift: float = Field(description="ratio over the chance of the alert in any window of that length")
    p_value: float = Field(description="binomial test against that chance, Bonferroni-corrected")
    median_lag_s: float
    description: str
    prevention: str = ""


class TemporalPattern(Frozen):
    """A weekly (`weekday` set) or daily hour at `ratio` times the normal level of an alert rate or series."""

    signal: str
    source: Literal["alerts", "series"]
    namespace: str | None
    weekday: int | None = Field(description="0 is Monday; None for every day")
    hour: int
    ratio: float
    p_value: float = Field(description="Poisson (alerts) or robust z (series) test, Bonferroni-corrected")
    support: int = Field(description="alerts in the hour(s), or hours that were high")
    observed: int = Field(description="how many times the hour was in the window (days, or weeks)")
    probability: float = Field(description="(1 + high) / (2 + observed): how likely the hour is high again")
    predicts: str | None = Field(description="the alert such load leads to, when known")
    description: str


class ExhaustionForecast(Frozen):
    series: str
    namespace: str | None
    current: float
    threshold: float
    slope_per_day: float
    exhausted_at: AwareDatetime | None = Field(description="None when not heading there within the horizon")
    description: str


class MethodRecord(Frozen):
    method: str
    successes: int
    failures: int


class FailurePattern(Frozen):
    """A kind of incident that keeps coming back, what failed on it, and what fixed it (if anything)."""

    alert_type: str
    namespace: str | None
    service: str | None
    incidents: int
    failures: int
    methods: list[MethodRecord]
    known_fix: str | None
    description: str


class PlaybookTuning(Frozen):
    """How well a playbook does on an alert type, from every verified outcome in the window."""

    alert_type: str
    playbook: str
    successes: int
    failures: int
    confidence: float = Field(description="(1 + successes) / (2 + outcomes)")
    lower: float = Field(description="90 % Wilson interval of the success rate")
    upper: float
    verdict: Literal["trust", "review", "avoid"]
    description: str


class AnalysisCounts(Frozen):
    alerts: int = 0
    changes: int = 0
    remediations: int = 0
    series: int = 0


class AnalysisReport(Frozen):
    generated_at: AwareDatetime
    window_start: AwareDatetime
    window_end: AwareDatetime
    counts: AnalysisCounts
    correlations: list[Correlation] = Field(default_factory=list)
    temporal: list[TemporalPattern] = Field(default_factory=list)
    exhaustion: list[ExhaustionForecast] = Field(default_factory=list)
    failures: list[FailurePattern] = Field(default_factory=list)
    tuning: list[PlaybookTuning] = Field(default_factory=list)
    insights_stored: int = Field(default=0, description="insights written to memory")
    insights_new: int = Field(default=0, description="of which memory did not know before")
