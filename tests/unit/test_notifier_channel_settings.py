"""Channel settings as an operator writes them: under `notifier.channels.<name>`, or by the flat names and
environment variables today's deployments use; checked at the notifier's start against each channel's own
model, with the field's path and what to set in the error, and never echoing a secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from healer_common.errors import ConfigError
from healer_common.settings import NotifierSettings, load_settings, unknown_env
from services.notifier.channels.catalogue import CHANNELS, channel_settings, ready_channels
from services.notifier.channels.github import GitHubSettings
from services.notifier.channels.slack import SlackSettings


def notifier(**section: Any) -> NotifierSettings:
    return load_settings(notifier=section).notifier


def test_by_default_only_the_console_is_ready() -> None:
    assert list(ready_channels(notifier())) == ["console"]


def test_a_channel_is_set_under_its_own_name_and_read_with_its_own_model() -> None:
    cfg = notifier(channels={"github": {"token": "ghp_x", "repo": "5dlabs/cto", "family_window_s": 60}})

    github = channel_settings(cfg)["github"]

    assert isinstance(github, GitHubSettings)
    assert (github.repo, github.family_window_s) == ("5dlabs/cto", 60.0)
    assert list(ready_channels(cfg)) == ["console", "github"]


def test_environment_variables_set_a_channel_under_notifier_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_NOTIFIER__CHANNELS__SLACK__TOKEN", "xoxb-1")
    monkeypatch.setenv("HEALER_NOTIFIER__CHANNELS__SLACK__CHANNEL", "#ops")

    slack = channel_settings(load_settings().notifier)["slack"]

    assert isinstance(slack, SlackSettings)
    assert slack.token is not None
    assert (slack.token.get_secret_value(), slack.channel) == ("xoxb-1", "#ops")


@pytest.mark.parametrize(
    ("env", "channel", "field", "value"),
    [
        ("HEALER_NOTIFIER__SLACK_TOKEN", "slack", "token", "xoxb-2"),
        ("HEALER_NOTIFIER__WEBHOOK_URL", "webhook", "url", "https://hooks.example.com/h"),
        ("HEALER_NOTIFIER__CONSOLE", "console", "enabled", False),
        ("SLACK_WEBHOOK_URL", "slack", "webhook_url", "https://hooks.slack.com/services/T/B/X"),
        ("PAGERDUTY_ROUTING_KEY", "pagerduty", "routing_key", "R0UTING"),
        ("GITHUB_TOKEN", "github", "token", "ghp_y"),
    ],
)
def test_the_names_deployments_use_today_still_set_their_channel(
    monkeypatch: pytest.MonkeyPatch, env: str, channel: str, field: str, value: object
) -> None:
    monkeypatch.setenv(env, str(value))

    found = getattr(channel_settings(load_settings().notifier)[channel], field)

    assert (found.get_secret_value() if hasattr(found, "get_secret_value") else found) == value


def test_the_old_flat_yaml_keys_still_work_and_win_over_the_new_ones() -> None:
    cfg = notifier(console=False, slack_channel="#old", channels={"slack": {"channel": "#new", "token": "xoxb"}})

    slack = channel_settings(cfg)["slack"]

    assert isinstance(slack, SlackSettings)
    assert slack.channel == "#old"
    assert list(ready_channels(cfg)) == ["slack"]


def test_a_typo_in_a_channel_setting_is_refused_at_start_with_its_path() -> None:
    cfg = notifier(channels={"slack": {"tokn": "xoxb"}, "github": {"repo": "not a repo"}})

    with pytest.raises(ConfigError) as caught:
        channel_settings(cfg)

    assert "notifier.channels.slack.tokn: Extra inputs are not permitted" in str(caught.value)
    assert "notifier.channels.github.repo: String should match pattern" in str(caught.value)


def test_a_channel_that_does_not_exist_is_refused_naming_those_that_do() -> None:
    with pytest.raises(ConfigError, match=r"notifier.channels.slak: no such channel; channels are console, webhook"):
        channel_settings(notifier(channels={"slak": {"token": "x"}}))


def test_a_receiver_naming_a_channel_without_credentials_is_refused_with_what_to_set() -> None:
    with pytest.raises(
        ConfigError, match=r"notifier.receivers.oncall: channel pagerduty is not configured \(set PAGERDUTY"
    ):
        ready_channels(notifier(receivers={"oncall": ["pagerduty"]}))
    with pytest.raises(ConfigError, match=r"notifier.escalations.p.levels.0.channels: no channel named 'sms'"):
        ready_channels(notifier(escalations={"p": {"levels": [{"delay": 0, "channels": ["sms"]}]}}))


def test_a_bad_section_is_reported_without_echoing_its_secrets() -> None:
    cfg = notifier(pagerduty_routing_key="R0UTING-KEY-SECRET", receivers={"x": ["slack"]}, github_token=12)

    with pytest.raises(ConfigError) as caught:
        ready_channels(cfg)

    assert "R0UTING-KEY-SECRET" not in str(caught.value)
    assert "notifier.channels.github.token: Input should be a valid string" in str(caught.value)


def test_settings_shown_mask_the_channels_secrets() -> None:
    cfg = notifier(channels={"slack": {"token": "xoxb-secret", "channel": "#ops"}}, pagerduty_routing_key="R0UTING")

    shown = json.dumps(cfg.model_dump(mode="json"))

    assert "xoxb-secret" not in shown
    assert "R0UTING" not in shown
    assert '"channel": "#ops"' in shown


def test_the_environment_check_knows_channel_names_old_and_new() -> None:
    environ = {
        "HEALER_NOTIFIER__SLACK_TOKEN": "x",
        "HEALER_NOTIFIER__CHANNELS__SLACK__TOKEN": "x",
        "HEALER_NOTIFIER__SLAK_TOKEN": "x",
    }

    assert unknown_env(environ) == ["HEALER_NOTIFIER__SLAK_TOKEN: no such setting (see `healer config table`)"]


def test_every_channel_setting_is_described_for_the_readme() -> None:
    for name, kind in CHANNELS.items():
        for field, info in kind.settings.model_fields.items():
            assert info.description, f"notifier.channels.{name}.{field} has no description"
