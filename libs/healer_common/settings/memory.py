"""Memory-bridge (`HEALER_MEMORY__*`): the store, decay and reinforcement, predictions and sleep-time analysis."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from healer_common.settings.section import Section

HOUR, DAY = 3600.0, 86_400.0


class SleepJob(BaseModel):
    """One sleep-time job: how often it runs and how much history it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    every_s: float = Field(gt=0)
    window_s: float = Field(gt=0)


def _seed_cadence() -> dict[str, dict[str, float]]:
    # Plain data, validated into SleepJob on load (validate_default), so docs/settings.md can show it.
    return {
        "correlations": {"every_s": 2 * HOUR, "window_s": 7 * DAY},
        "patterns": {"every_s": 4 * HOUR, "window_s": 30 * DAY},
        "prediction": {"every_s": HOUR, "window_s": 7 * DAY},
        "temporal": {"every_s": DAY, "window_s": 21 * DAY},
        "tuning": {"every_s": 7 * DAY, "window_s": 30 * DAY},
    }


class SharedMemory(Section):
    """Another agent's memory, read (never written) beside Healer's own: an OpenMemory tenant (its read key, or
    its user_id on servers <= 1.3.0), or an embedded store file."""

    agent: str = Field(
        min_length=1, max_length=64, description="whose memory it is, e.g. rex (shown with what it gives)"
    )
    weight: float = Field(0.5, gt=0, le=1, description="its memories' selection scores are multiplied by this")
    openmemory_url: str | None = Field(None, description="its OpenMemory; memory.openmemory_url when unset")
    openmemory_api_key: SecretStr | None = Field(None, description="a key of its tenant that can read")
    openmemory_user_id: str | None = Field(None, description="its user_id on OpenMemory <= 1.3.0")
    store_path: Path | None = Field(None, description="its embedded store file, instead of OpenMemory")


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
        900.0, gt=0, description="sleep-time jobs run only once no alert or incident was seen this long"
    )
    linger_s: float = Field(
        1.0,
        ge=0,
        le=30,
        description="once caught up, alerts and incidents are taken at most this often (0: as they come): what "
        "memory learns from them is not urgent, and a storm's first second belongs to grouping and telling",
    )
    sleep_jobs: dict[str, SleepJob] = Field(
        default_factory=_seed_cadence,
        validate_default=True,
        description="sleep-time jobs (correlations, patterns, prediction, temporal, tuning): every_s and window_s",
    )

    @field_validator("sleep_jobs")
    @classmethod
    def _known_jobs(cls, value: dict[str, SleepJob]) -> dict[str, SleepJob]:
        """Only the jobs that exist; one left out is not run (an empty mapping turns sleep-time off)."""
        if unknown := sorted(set(value) - set(_seed_cadence())):
            raise ValueError(f"no sleep-time job named {', '.join(unknown)}; jobs are {', '.join(_seed_cadence())}")
        return value

    rollup_grace_s: float = Field(
        60.0, ge=0, description="a 5-minute rollup bucket is published this long after it ends (late samples)"
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
    shared: list[SharedMemory] = Field(
        default_factory=list,
        description="other agents' memories read (never written) with each query, ranked by their weight",
    )
