"""The notifier as a user sees it, a real process on real NATS and Redis, talking to local peers that answer
as Slack, PagerDuty and GitHub document: one Slack thread per incident kept up to date, PagerDuty alerts that
trigger and resolve under one dedup key, GitHub issues for workflow failures, and a rate limit that is waited
out and delivered once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from healer_common.contract.incidents import Incident
from healer_common.contract.messages import new_id
from healer_common.contract.remediations import RemediationState
from healer_common.contract.streams import NOTIFIER_INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import HttpPeer, ServiceRunner, consumer_drained, eventually, recording
from tests.support.peers import (
    GH_ISSUES,
    PD_ENQUEUE,
    ROUTING_KEY,
    SLACK_POST,
    SLACK_TOKEN,
    SLACK_UPDATE,
    Response,
    answer,
    bodies,
    sample,
    serve_github,
    serve_pagerduty,
    serve_slack,
    use_notifier,
)
from tests.support.samples import alert, incident, pod, remediation

pytestmark = pytest.mark.integration


def revision(state: str, number: int, *, alert_id: str = "H8", incident_id: str = "inc-1") -> Incident:
    """A revision as the correlator publishes it (a fresh event id each time, as a republish would have)."""
    held = incident(alert(alert_id, resource=pod("rex-1")), state=state, revision=number)
    return held.evolve(incident_id=incident_id, event_id=new_id(), notify=True)


async def start(services: ServiceRunner) -> None:
    services.start("notifier")
    await services.wait_running("notifier")


async def publish_steps(bus: BusClient, *states: RemediationState) -> None:
    for state in states:
        await bus.publish(remediation(state).evolve(event_id=new_id()))


def replies(peer: HttpPeer) -> list[dict[str, Any]]:
    return bodies(peer, SLACK_POST, lambda b: "thread_ts" in b)


async def test_one_incident_gives_one_slack_root_a_reply_per_remediation_step_and_an_update_on_resolution(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    serve_slack(http_peer)
    use_notifier(services, http_peer, receivers={"chat": ["slack"]}, route={"receiver": "chat"})
    await start(services)

    await bus.publish(revision("opened", 1))
    await bus.publish(revision("opened", 1))  # the same revision again: the sent-log keeps it from Slack
    await publish_steps(bus, "planned", "running", "acted", "succeeded")
    await eventually(lambda: len(replies(http_peer)) >= 3, what="a reply per remediation step")
    await bus.publish(revision("resolved", 2))
    await eventually(lambda: len(replies(http_peer)) >= 4, what="the resolution in the thread")

    roots = bodies(http_peer, SLACK_POST, lambda b: "thread_ts" not in b)
    assert len(roots) == 1, f"one root message per incident, got {roots}"
    assert roots[0]["channel"] == "#healer"
    assert roots[0]["text"].startswith(":red_circle: [OPEN] ")
    assert roots[0]["blocks"][0]["type"] == "section"
    thread = replies(http_peer)
    assert {reply["thread_ts"] for reply in thread} == {"1767603600.000001"}, "every reply under the root"
    assert {reply["channel"] for reply in thread} == {"C0HEALER1"}, "replies go to the channel id Slack answered"
    steps = [reply["text"] for reply in thread[:3]]
    assert ["is running" in steps[0], " acted" in steps[1], "succeeded" in steps[2]] == [True, True, True]
    assert not any("planned" in text for text in steps), "planned is a quiet state"
    updates = [r.data for r in http_peer.received("POST", SLACK_UPDATE)]
    assert [(u["channel"], u["ts"]) for u in updates] == [("C0HEALER1", "1767603600.000001")] * len(updates)
    assert updates[0]["text"].startswith(":large_green_circle: [REMEDIATED] ")
    assert updates[-1]["text"].startswith(":white_check_mark: [RESOLVED] ")
    auth = {r.headers.get("Authorization") for r in http_peer.received("POST")}
    assert auth == {f"Bearer {SLACK_TOKEN}"}


async def test_pagerduty_trigger_and_resolve_share_one_dedup_key(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    serve_pagerduty(http_peer)
    use_notifier(services, http_peer, receivers={"oncall": ["pagerduty"]}, route={"receiver": "oncall"})
    await start(services)

    await bus.publish(revision("opened", 1, incident_id="inc-pd"))
    await publish_steps(bus, "running", "succeeded")
    await bus.publish(revision("resolved", 2, incident_id="inc-pd"))
    await eventually(lambda: len(http_peer.received("POST", PD_ENQUEUE)) >= 2, what="trigger and resolve")

    trigger, resolve = bodies(http_peer, PD_ENQUEUE)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "inc-pd"
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    assert set(trigger["payload"]) >= {"summary", "source", "severity", "timestamp"}
    assert (trigger["payload"]["severity"], trigger["payload"]["source"]) == ("critical", "pod cto/rex-1")
    assert "payload" not in resolve
    await eventually(lambda: consumer_drained(bus, NOTIFIER_INCIDENTS), what="notifier drained")
    assert len(http_peer.received("POST", PD_ENQUEUE)) == 2, "remediation steps are not PagerDuty's business"


async def test_a_429_is_retried_after_its_retry_after_and_delivered_once(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    limited = answer(429, sample("pagerduty_enqueue_rate_limited.json"), **{"Retry-After": "2"})
    arrivals = serve_pagerduty(http_peer, [limited])
    use_notifier(services, http_peer, receivers={"oncall": ["pagerduty"]}, route={"receiver": "oncall"})
    await start(services)

    async with recording(bus, bus.space.audit("notifier")) as audits:
        await bus.publish(revision("opened", 1))
        delivered = await audits.wait_for(lambda m: json.loads(m.data)["decision"] == "delivered", what="delivery")

    sent = bodies(http_peer, PD_ENQUEUE)
    assert len(sent) == 2, "one refused with 429, one accepted"
    assert sent[0] == sent[1], "the same event, retried"
    assert arrivals[1] - arrivals[0] >= 2.0, "the retry waited for Retry-After"
    assert json.loads(delivered.data)["target"] == "pagerduty"
    await eventually(lambda: consumer_drained(bus, NOTIFIER_INCIDENTS), what="notifier drained")
    assert len(http_peer.received("POST", PD_ENQUEUE)) == 2, "delivered once: no third request"


async def test_a_workflow_failure_opens_one_github_issue_comments_on_it_and_closes_it_on_resolution(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    serve_github(http_peer)
    use_notifier(services, http_peer, receivers={"issues": ["github"]}, route={"receiver": "issues"})
    await start(services)

    await bus.publish(revision("opened", 1, alert_id="A7"))
    await publish_steps(bus, "running")
    await eventually(
        lambda: http_peer.received("POST", f"{GH_ISSUES}/42/comments"), timeout=60, what="a comment on the step"
    )
    await bus.publish(revision("resolved", 2, alert_id="A7"))
    await eventually(lambda: http_peer.received("PATCH", f"{GH_ISSUES}/42"), what="the issue closed")

    (created,) = [r.data for r in http_peer.received("POST", GH_ISSUES)]
    assert created["title"] == "[HEAL-A7] pod failure: rex-1"
    assert created["labels"] == ["heal", "remediation", "a7"]
    assert "<!-- healer:fingerprint=" in created["body"]
    comments = [r.data["body"] for r in http_peer.received("POST", f"{GH_ISSUES}/42/comments")]
    assert len(comments) == 2
    assert "is running" in comments[0]
    assert comments[1].startswith("**[RESOLVED] ")
    (closed,) = [r.data for r in http_peer.received("PATCH", f"{GH_ISSUES}/42")]
    assert closed == {"state": "closed", "state_reason": "completed"}
    (listed,) = http_peer.received("GET", GH_ISSUES)
    assert listed.params == {"state": "open", "labels": "heal,a7"}
    assert {r.headers.get("Authorization") for r in http_peer.received()} == {"Bearer ghp_testtoken"}


async def test_incidents_the_correlator_holds_back_or_silenced_reach_nobody(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    serve_slack(http_peer)
    use_notifier(services, http_peer, receivers={"chat": ["slack"]}, route={"receiver": "chat"})
    await start(services)

    await bus.publish(revision("opened", 1, incident_id="inc-silenced").evolve(silenced=True))
    await bus.publish(revision("opened", 1, incident_id="inc-grouping").evolve(notify=False))
    await bus.publish(revision("opened", 1, incident_id="inc-told"))
    await eventually(lambda: consumer_drained(bus, NOTIFIER_INCIDENTS), what="notifier drained")

    told = [body["blocks"][1]["elements"][0]["text"] for body in bodies(http_peer, SLACK_POST)]
    assert len(told) == 1
    assert "incident `inc-told`" in told[0]


async def test_with_only_a_legacy_slack_webhook_it_posts_unthreaded_and_says_so_at_start(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    http_peer.handler["post /services/T000/B000/XXXX"] << b"ok"
    use_notifier(services, http_peer, slack_token=None, slack_webhook_url=f"{http_peer.url}/services/T000/B000/XXXX")
    await start(services)

    await bus.publish(revision("opened", 1))
    await publish_steps(bus, "running")
    await eventually(lambda: len(http_peer.received("POST", "/services/T000/B000/XXXX")) >= 2, what="two messages")

    posted = [r.data for r in http_peer.received("POST", "/services/T000/B000/XXXX")]
    assert all(set(body) == {"text", "blocks"} for body in posted), "an incoming webhook takes no thread_ts"
    assert "slack_without_threads" in services.running["notifier"].log()
    assert "T000/B000/XXXX" not in services.running["notifier"].log(), "the webhook URL is a secret"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", b"<html><body>502 Bad Gateway</body></html>"), ("text/plain", b"ok")],
    ids=["html labelled json", "plain text"],
)
async def test_a_slack_answer_that_is_not_json_is_posted_once_and_given_up_with_the_reason(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer, content_type: str, body: bytes
) -> None:
    """A proxy or a wrong slack_api_url answering 200 with something else than Slack's JSON: the message may be
    posted, so it is not posted again (it used to be retried five times, each a new post)."""
    http_peer.handler[f"post {SLACK_POST}"] << (
        lambda _r: Response(status=200, headers={"Content-Type": content_type}, payload=body)
    )
    use_notifier(services, http_peer, receivers={"chat": ["slack"]}, route={"receiver": "chat"})
    await start(services)

    async with recording(bus, bus.space.audit("notifier")) as audits:
        await bus.publish(revision("opened", 1))
        gave_up = await audits.wait_for(lambda m: json.loads(m.data)["decision"] == "failed", what="a failed delivery")
    await eventually(lambda: consumer_drained(bus, NOTIFIER_INCIDENTS), what="notifier drained")

    assert len(http_peer.received("POST", SLACK_POST)) == 1, "posted once, never again"
    assert "not Slack's JSON" in json.loads(gave_up.data)["reason"]
