"""Local peers that answer as Slack, PagerDuty and GitHub document (their answers are the samples beside the
channel adapters), on one kmock server under three path prefixes; and the notifier's settings pointing at them.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import kmock

from healer_common.settings import NotifierSettings
from healer_common.settings.notifier import DeliveryPolicy
from healer_common.testing import HttpPeer, ServiceRunner
from services.notifier.channels import SAMPLES

Response: Any = kmock.Response  # type: ignore[attr-defined] # kmock exports it at runtime, not in __all__
SLACK_TOKEN = "xoxb-test-token"
ROUTING_KEY = "R0UTINGKEYFORTESTS0000000000000"
GITHUB_TOKEN = "ghp_testtoken"
REPO = "5dlabs/cto"
ROOT_TS = "1767603600.000001"
SLACK_POST = "/slack/api/chat.postMessage"
SLACK_UPDATE = "/slack/api/chat.update"
PD_ENQUEUE = "/pd/v2/enqueue"
GH_ISSUES = f"/gh/repos/{REPO}/issues"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def answer(status: int, body: Any, **headers: str) -> Response:
    """A whole answer each time (kmock keeps a returned Response's status on the reaction otherwise)."""
    return Response(status=status, headers=headers, payload=body)


def serve_slack(peer: HttpPeer) -> None:
    counter = itertools.count(1)

    def post_message(_request: kmock.Request) -> Response:
        body = sample("slack_chat_post_message.json")
        body["ts"] = body["message"]["ts"] = f"1767603600.{next(counter):06d}"
        return answer(200, body)

    peer.handler[f"post {SLACK_POST}"] << post_message
    peer.handler[f"post {SLACK_UPDATE}"] << (lambda _r: answer(200, sample("slack_chat_update.json")))


def serve_pagerduty(peer: HttpPeer, first_answers: list[Response] | None = None) -> list[float]:
    """PagerDuty's enqueue; `first_answers` come before the 202s. Returns when each request arrived."""
    arrivals: list[float] = []
    queued = list(first_answers or [])

    def enqueue(_request: kmock.Request) -> Response:
        arrivals.append(time.monotonic())
        return queued.pop(0) if queued else answer(202, sample("pagerduty_enqueue_accepted.json"))

    peer.handler[f"post {PD_ENQUEUE}"] << enqueue
    return arrivals


def serve_github(peer: HttpPeer) -> None:
    peer.handler[f"get {GH_ISSUES}"] << (lambda _r: answer(200, []))
    peer.handler[f"post {GH_ISSUES}"] << (lambda _r: answer(201, sample("github_issue_created.json")))
    peer.handler[f"post {GH_ISSUES}/42/comments"] << (lambda _r: answer(201, sample("github_comment_created.json")))
    closed = {**sample("github_issue_created.json"), "state": "closed"}
    peer.handler[f"patch {GH_ISSUES}/42"] << (lambda _r: answer(200, closed))


def use_notifier(services: ServiceRunner, peer: HttpPeer, **values: Any) -> NotifierSettings:
    """The notifier's settings with every channel pointed at the peer, plus `values`; validated like a load."""
    data: dict[str, Any] = {
        "console": False,
        "slack_token": SLACK_TOKEN,
        "slack_api_url": f"{peer.url}/slack/api/",
        "slack_channel": "#healer",
        "pagerduty_routing_key": ROUTING_KEY,
        "pagerduty_events_url": f"{peer.url}{PD_ENQUEUE}",
        "github_token": GITHUB_TOKEN,
        "github_repo": REPO,
        "github_api_url": f"{peer.url}/gh",
        "escalation_tick_s": 0.2,
        "delivery": DeliveryPolicy(backoff_s=0.2, backoff_max_s=2.0),
        **values,
    }
    cfg = NotifierSettings.model_validate(data)
    services.settings = services.settings.model_copy(update={"notifier": cfg})
    return cfg


def everything(_body: dict[str, Any]) -> bool:
    return True


def bodies(peer: HttpPeer, path: str, where: Callable[[dict[str, Any]], bool] = everything) -> list[dict[str, Any]]:
    return [r.data for r in peer.received("POST", path) if isinstance(r.data, dict) and where(r.data)]
