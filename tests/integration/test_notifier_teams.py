"""Microsoft Teams as a user sees it: the notifier, a real process on real NATS and Redis, posts one Adaptive
Card per notification to a local peer that answers as a Teams Workflows webhook does, accepting (202) only the
documented message shape and refusing (400) anything else."""

from __future__ import annotations

from typing import Any, Literal

import kmock
import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from healer_common.contract.messages import new_id
from healer_common.runtime.busclient import BusClient
from healer_common.testing import HttpPeer, ServiceRunner, eventually, recording
from tests.support.peers import answer, use_notifier
from tests.support.samples import alert, incident, pod, remediation

pytestmark = pytest.mark.integration

WORKFLOW = "/workflows/0a1b2c/triggers/manual/paths/invoke"
QUERY = "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGNATURE"


class _Documented(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CardBody(BaseModel):
    type: Literal["TextBlock", "FactSet", "ColumnSet", "Container", "Image", "ActionSet"]


class AdaptiveCard(BaseModel):
    schema_: Literal["http://adaptivecards.io/schemas/adaptive-card.json"] = Field(alias="$schema")
    type: Literal["AdaptiveCard"]
    version: Literal["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]
    body: list[CardBody] = Field(min_length=1)


class Attachment(_Documented):
    contentType: Literal["application/vnd.microsoft.card.adaptive"]  # noqa: N815 - the documented name
    contentUrl: None  # noqa: N815 - the documented name
    content: AdaptiveCard


class WorkflowMessage(_Documented):
    """The body the Workflows template "Post to a channel when a webhook request is received" takes."""

    type: Literal["message"]
    attachments: list[Attachment] = Field(min_length=1)


def serve_workflow(peer: HttpPeer) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []

    def trigger(request: kmock.Request) -> Any:
        try:
            WorkflowMessage.model_validate(request.data)
        except ValidationError as exc:
            return answer(400, {"error": {"code": "TriggerInputSchemaMismatch", "message": str(exc)}})
        cards.append(request.data["attachments"][0]["content"])
        return answer(202, None)

    peer.handler[f"post {WORKFLOW}"] << trigger
    return cards


async def test_an_incident_and_its_remediation_reach_teams_as_adaptive_cards(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    cards = serve_workflow(http_peer)
    teams = {"webhook_url": f"{http_peer.url}{WORKFLOW}{QUERY}"}
    use_notifier(
        services, http_peer, channels={"teams": teams}, receivers={"chat": ["teams"]}, route={"receiver": "chat"}
    )
    services.start("notifier")
    await services.wait_running("notifier")

    opened = incident(alert("H8", resource=pod("rex-1")), revision=1).evolve(event_id=new_id(), notify=True)
    async with recording(bus, bus.space.audit("notifier")) as audits:
        await bus.publish(opened)
        await bus.publish(remediation("succeeded").evolve(event_id=new_id()))
        await eventually(lambda: len(cards) >= 2, what="two cards accepted by the workflow")
        await audits.wait_count(lambda m: b'"delivered"' in m.data and b'"teams"' in m.data, 2)

    assert cards[0]["body"][0]["text"] == f"Opened: {opened.title}"
    assert cards[0]["body"][0]["color"] == "Attention"
    assert cards[1]["body"][0]["text"].startswith("Remediation: ")
    assert len(http_peer.received("POST", WORKFLOW)) == 2, "each card accepted at the first try"
    assert "SIGNATURE" not in services.running["notifier"].log(), "the workflow URL carries a secret"
