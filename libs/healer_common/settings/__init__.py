"""One settings object for every service: `HEALER_*` environment variables, then an optional YAML file.

Precedence, strongest first: explicit overrides, `HEALER_*` variables (nested with `__`, e.g.
`HEALER_NATS__URL`), the names today's Healer already uses (`PROMETHEUS_URL`, `LOKI_URL`, `OPENMEMORY_URL`,
`SLACK_WEBHOOK_URL`, `PAGERDUTY_ROUTING_KEY`, `GITHUB_TOKEN`), the YAML file named by `HEALER_CONFIG`, and
the defaults, which are those of the embedded default (`make run`). Unknown keys are rejected, so a typo in
the YAML file fails at start with the key's path rather than being ignored. Every field is in docs/settings.md.

One module per section, one naming rule: `healer_common/settings/<section>.py` defines `<Section>Settings` (and
the models nested in it), and `Settings.<section>` holds it. This module only assembles them and loads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from healer_common.contract.subjects import SubjectSpace
from healer_common.errors import ConfigError
from healer_common.settings.alerts import AlertsSettings
from healer_common.settings.api import ApiSettings
from healer_common.settings.auth import AuthSettings
from healer_common.settings.bus import STREAM_KEYS, BusSettings
from healer_common.settings.cluster import ClusterSettings
from healer_common.settings.collector import CollectedCluster, CollectorSettings
from healer_common.settings.correlator import CorrelatorSettings
from healer_common.settings.detector import DetectorSettings
from healer_common.settings.github import GitHubSettings
from healer_common.settings.http import SERVICES, HttpSettings
from healer_common.settings.limits import LimitsSettings
from healer_common.settings.log import LogSettings
from healer_common.settings.memory import MemorySettings
from healer_common.settings.nats import NatsSettings
from healer_common.settings.notifier import CHANNEL_ALIASES, NotifierSettings
from healer_common.settings.redis import RedisSettings
from healer_common.settings.remediator import RemediatorSettings
from healer_common.settings.scale import ScaleSettings
from healer_common.settings.telemetry import TelemetrySettings

__all__ = [  # the sections, so that `from healer_common.settings import RemediatorSettings` keeps one path
    "SERVICES",
    "STREAM_KEYS",
    "AlertsSettings",
    "ApiSettings",
    "AuthSettings",
    "BusSettings",
    "ClusterSettings",
    "CollectedCluster",
    "CollectorSettings",
    "CorrelatorSettings",
    "DetectorSettings",
    "GitHubSettings",
    "HttpSettings",
    "LimitsSettings",
    "LogSettings",
    "MemorySettings",
    "NatsSettings",
    "NotifierSettings",
    "RedisSettings",
    "RemediatorSettings",
    "ScaleSettings",
    "Settings",
    "TelemetrySettings",
    "load_settings",
]

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
# Names read in more than one place: the same token reads pull requests and writes issues.
LEGACY_ENV_ALSO = {"GITHUB_TOKEN": ("github", "token")}


class _LegacyEnvSource(PydanticBaseSettingsSource):
    """Reads the environment names today's Healer uses; `HEALER_*` names win over them."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002 - abstract signature
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for names in (LEGACY_ENV, LEGACY_ENV_ALSO):
            for env_name, (section, key) in names.items():
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
    scale: ScaleSettings = ScaleSettings()
    alerts: AlertsSettings = AlertsSettings()
    log: LogSettings = LogSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    http: HttpSettings = HttpSettings()
    limits: LimitsSettings = LimitsSettings()
    auth: AuthSettings = AuthSettings()
    cluster: ClusterSettings = ClusterSettings()
    collector: CollectorSettings = CollectorSettings()
    detector: DetectorSettings = DetectorSettings()
    correlator: CorrelatorSettings = CorrelatorSettings()
    remediator: RemediatorSettings = RemediatorSettings()
    notifier: NotifierSettings = NotifierSettings()
    memory: MemorySettings = MemorySettings()
    github: GitHubSettings = GitHubSettings()
    api: ApiSettings = ApiSettings()

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
    """Every `HEALER_*` name that sets something, mapped to whether it is a dict (which takes `__<key>` below);
    the old flat names of channel settings included (`HEALER_NOTIFIER__SLACK_TOKEN`)."""
    names: dict[str, bool] = {f"HEALER_NOTIFIER__{old.upper()}": False for old in CHANNEL_ALIASES} if not path else {}
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


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`expected ',' or ']' (line 2, column 8)`: the parser's complaint and where, without its echo of the file."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return f"{exc.problem}{where}"
    return str(exc).splitlines()[0]


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate settings, or raise ConfigError naming each bad field and why."""
    if typos := unknown_env(os.environ):
        raise ConfigError(f"unknown environment variables: {'; '.join(typos)}", source="environment")
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"config file {config} does not exist or is not a file", field="config")
        overrides["config"] = config
    source = str(config or os.environ.get("HEALER_CONFIG") or "environment")
    try:
        return Settings(**overrides)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {_yaml_problem(exc)}", source=source) from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise ConfigError(f"invalid settings: {_problems(exc)}", source=source) from None
        if source == "environment":
            raise
        raise ConfigError(
            f"the file must hold a mapping of sections (nats:, redis:, ...): {exc}", source=source
        ) from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}{_got(err.get('input'))}"
        for err in exc.errors()
    )
