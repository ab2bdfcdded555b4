"""Microsoft Teams through a Workflows webhook: every notification becomes one Adaptive Card in the shape the
"Post to a channel when a webhook request is received" workflow takes; refusals and throttling are read as
for every HTTP channel."""

from __future__ import annotations

import json

import httpx
import pytest

from healer_common.errors import ConfigError, Permanent, Retryable
from healer_common.settings import load_settings
from services.notifier.channels.catalogue import ready_channels
from services.notifier.channels.teams import TeamsChannel, card_for
from services.notifier.render import for_incident, for_remediation
from tests.support.samples import incident, remediation

WORKFLOW = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cret"


def test_a_notification_is_one_adaptive_card_as_a_workflows_webhook_takes_it() -> None:
    message = card_for(for_incident(incident()))

    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    heading, text, facts = card["body"]
    assert heading["text"] == f"Opened: {incident().title}"
    assert heading["color"] == "Attention", "a critical incident is shown in the attention colour"
    assert text["wrap"] is True
    assert {"title": "Target", "value": "pod cto/rex-1"} in facts["facts"]
    assert {"title": "Cluster", "value": "default"} in facts["facts"]


def test_a_remediation_step_is_a_card_of_its_own() -> None:
    card = card_for(for_remediation(remediation("succeeded")))["attachments"][0]["content"]

    assert card["body"][0]["text"].startswith("Remediation: Remediation ")
    assert card["body"][0]["color"] == "Default"


def test_a_long_text_is_cut_so_teams_still_takes_the_card() -> None:
    huge = for_incident(incident()).evolve(text="x" * 100_000)

    assert len(json.dumps(card_for(huge)).encode()) < 28 * 1024


async def _send(answer: httpx.Response) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def workflow(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(workflow)) as http:
        await TeamsChannel(WORKFLOW, http).send(for_incident(incident()))
    return seen


async def test_the_card_is_posted_as_json_to_the_workflow_url() -> None:
    [request] = await _send(httpx.Response(202))

    assert str(request.url) == WORKFLOW
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content)["attachments"][0]["content"]["type"] == "AdaptiveCard"


async def test_a_refused_card_is_given_up_and_a_throttled_one_waits_as_asked() -> None:
    with pytest.raises(Permanent, match="teams refused the notification: HTTP 400"):
        await _send(httpx.Response(400, json={"error": {"code": "TriggerInputSchemaMismatch"}}))
    with pytest.raises(Retryable) as throttled:
        await _send(httpx.Response(429, headers={"Retry-After": "7"}))
    assert throttled.value.delay == 7.0


def test_teams_is_ready_once_its_webhook_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"channel teams is not configured \(set HEALER_NOTIFIER__CHANNELS__TEAMS"):
        ready_channels(load_settings(notifier={"receivers": {"chat": ["teams"]}}).notifier)

    monkeypatch.setenv("HEALER_NOTIFIER__CHANNELS__TEAMS__WEBHOOK_URL", WORKFLOW)

    assert "teams" in ready_channels(load_settings(notifier={"receivers": {"chat": ["teams"]}}).notifier)
