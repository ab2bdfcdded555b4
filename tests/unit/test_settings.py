"""Settings as an operator meets them: defaults that run the embedded default, HEALER_* variables, the names
today's Healer already uses, a YAML file, and errors that say which key is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from healer_common.errors import ConfigError
from healer_common.settings import LEGACY_ENV, SERVICES, HttpSettings, load_settings
from healer_common.settings.notifier import CHANNEL_ALIASES


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts from an environment with no Healer settings, whatever the shell that runs pytest has."""
    for name in list(os.environ):
        if name.startswith("HEALER_") or name in LEGACY_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "healer.yaml"
    path.write_text(text)
    return path


def test_the_defaults_are_those_of_the_embedded_default() -> None:
    settings = load_settings()

    assert settings.nats.url == "nats://127.0.0.1:4222"
    assert settings.redis.url == "redis://127.0.0.1:6379/0"
    assert settings.space.root == "healer"
    assert settings.cluster.name == "default"
    assert not settings.cluster.configured
    assert settings.remediator.dry_run is False
    assert settings.detector.rules.h2.usage_ratio == 0.8
    assert "Ready" in settings.detector.recovery_reasons
    assert settings.correlator.group_by[:3] == ["cluster", "namespace", "alertname"]
    assert settings.collector.prometheus_url is None
    assert settings.notifier.channels == {}


def test_healer_variables_set_nested_settings_with_double_underscores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_NATS__URL", "nats://nats.healer:4222")
    monkeypatch.setenv("HEALER_BUS__SUBJECT_ROOT", "staging.healer")
    monkeypatch.setenv("HEALER_REMEDIATOR__DRY_RUN", "true")
    monkeypatch.setenv("HEALER_REMEDIATOR__PROTECTED_NAME_PREFIXES", '["kube-", "istio-"]')
    monkeypatch.setenv("HEALER_NOTIFIER__WEBHOOK_SECRET", "s3cret")

    settings = load_settings()

    assert settings.nats.url == "nats://nats.healer:4222"
    assert settings.space.alerts("H8") == "staging.healer.alerts.H8"
    assert settings.remediator.dry_run is True
    assert settings.remediator.protected_name_prefixes == ["kube-", "istio-"]
    assert settings.notifier.channels["webhook"]["secret"] == "s3cret"
    assert settings.nats.connect_timeout_s == 5.0  # the rest of the section keeps its defaults


def test_the_names_todays_healer_uses_are_all_accepted() -> None:
    assert {
        "PROMETHEUS_URL": ("collector", "prometheus_url"),
        "LOKI_URL": ("collector", "loki_url"),
        "OPENMEMORY_URL": ("memory", "openmemory_url"),
        "SLACK_WEBHOOK_URL": ("notifier", "slack_webhook_url"),
        "PAGERDUTY_ROUTING_KEY": ("notifier", "pagerduty_routing_key"),
        "GITHUB_TOKEN": ("notifier", "github_token"),
    }.items() <= LEGACY_ENV.items()


@pytest.mark.parametrize(("env_name", "section", "key"), [(name, *where) for name, where in LEGACY_ENV.items()])
def test_a_name_todays_healer_uses_lands_in_its_section(
    monkeypatch: pytest.MonkeyPatch, env_name: str, section: str, key: str
) -> None:
    monkeypatch.setenv(env_name, "from-legacy")

    settings = load_settings()
    if section == "notifier":  # a channel's setting, under notifier.channels since the channel catalogue
        channel, field = CHANNEL_ALIASES[key]
        value = settings.notifier.channels[channel][field]
    else:
        value = getattr(getattr(settings, section), key)

    assert (value if isinstance(value, str) else value.get_secret_value()) == "from-legacy"


def test_a_healer_variable_wins_over_the_legacy_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", "http://legacy:9090")
    monkeypatch.setenv("LOKI_URL", "http://loki:3100")
    monkeypatch.setenv("HEALER_COLLECTOR__PROMETHEUS_URL", "http://prometheus:9090")

    collector = load_settings().collector

    assert collector.prometheus_url == "http://prometheus:9090"
    assert collector.loki_url == "http://loki:3100"


def test_an_empty_legacy_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", "")

    assert load_settings().collector.prometheus_url is None


def test_a_yaml_file_sets_any_setting(tmp_path: Path) -> None:
    config = write_yaml(
        tmp_path,
        "nats:\n  url: nats://yaml:4222\n  stream_replicas: 3\ncluster:\n  name: prod-eu\nlog:\n  level: DEBUG\n",
    )

    settings = load_settings(config=config)

    assert settings.nats.url == "nats://yaml:4222"
    assert settings.nats.stream_replicas == 3
    assert settings.cluster.name == "prod-eu"
    assert settings.log.level == "DEBUG"


def test_the_yaml_file_can_be_named_by_healer_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEALER_CONFIG", str(write_yaml(tmp_path, "cluster:\n  name: from-env-file\n")))

    assert load_settings().cluster.name == "from-env-file"


def test_variables_win_over_the_yaml_file_key_by_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "nats:\n  url: nats://yaml:4222\n  stream_replicas: 3\n")
    monkeypatch.setenv("HEALER_NATS__URL", "nats://env:4222")

    nats = load_settings(config=config).nats

    assert nats.url == "nats://env:4222"
    assert nats.stream_replicas == 3


def test_a_typo_in_the_yaml_file_names_the_key_path_and_the_file(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "collector:\n  promethus_url: http://prometheus:9090\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(config=config)

    message = str(caught.value)
    assert "collector.promethus_url" in message
    assert "Extra inputs are not permitted" in message
    assert str(config) in message
    assert caught.value.source == str(config)


def test_a_bad_value_names_the_key_the_value_and_the_rule(tmp_path: Path) -> None:
    config = write_yaml(tmp_path, "http:\n  port: 70000\n")

    with pytest.raises(ConfigError, match=r"http\.port: Input should be less than or equal to 65535 \(got 70000\)"):
        load_settings(config=config)


def test_a_bad_variable_is_blamed_on_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_NATS__CONNECT_TIMEOUT_S", "soon")

    with pytest.raises(ConfigError, match=r"nats\.connect_timeout_s: .*'soon'.*\(in environment\)"):
        load_settings()


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings(config=missing)

    assert str(missing) in str(caught.value)
    assert caught.value.field == "config"


def test_explicit_overrides_win_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_CLUSTER__NAME", "from-env")

    assert load_settings(cluster={"name": "explicit"}).cluster.name == "explicit"


@pytest.mark.parametrize(("service", "port"), [("collector", 9470), ("notifier", 9474), ("memory-bridge", 9475)])
def test_each_service_listens_on_its_own_port_after_the_base(service: str, port: int) -> None:
    assert HttpSettings().port_of(service) == port


def test_every_service_gets_a_distinct_port_and_others_come_after_them() -> None:
    http = HttpSettings()
    ports = {http.port_of(s) for s in SERVICES}

    assert len(ports) == len(SERVICES)
    assert http.port_of("healer-cli") == max(ports) + 1


def test_an_exact_port_wins_over_the_base() -> None:
    assert HttpSettings(port=8080, base_port=9000).port_of("detector") == 8080


def test_base_port_zero_asks_for_free_ports() -> None:
    assert HttpSettings(base_port=0).port_of("detector") == 0


def test_the_http_port_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_HTTP__BASE_PORT", "10000")

    assert load_settings().http_port("correlator") == 10002


def test_a_misspelled_environment_variable_is_refused_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_HTTP_PORT", "9470")
    with pytest.raises(ConfigError, match=r"HEALER_HTTP_PORT: did you mean HEALER_HTTP__PORT\?"):
        load_settings()


def test_an_unknown_nested_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_NATS__URLL", "nats://x:4222")
    with pytest.raises(ConfigError, match="HEALER_NATS__URLL: no such setting"):
        load_settings()


def test_stream_retention_from_the_environment_names_the_stream_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_BUS__RETENTION_DAYS__EVENTS", "2")
    assert load_settings().bus.retention_days == {"EVENTS": 2.0}
    monkeypatch.setenv("HEALER_BUS__RETENTION_DAYS__EVENT", "2")
    with pytest.raises(ConfigError, match="no stream named EVENT"):
        load_settings()


def test_the_stream_names_settings_accept_are_the_streams_that_exist() -> None:
    from healer_common.contract.streams import STREAMS  # noqa: PLC0415
    from healer_common.settings import STREAM_KEYS  # noqa: PLC0415

    assert sorted(STREAM_KEYS) == sorted(spec.key for spec in STREAMS)
