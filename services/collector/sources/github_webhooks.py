"""GitHub's repository webhooks, checked and read: which repository (and pull request) an event is about.

GitHub signs each delivery with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` under the
webhook's secret; a body whose signature does not match is refused. The collector treats a delivery as a
nudge: the github source reads the repository at once, through the same REST reads and the same transition
memory as its polling, so a webhook and a poll can never disagree and a lost or repeated delivery changes
nothing. Pure: the collector's HTTP handler passes the body and headers.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "check_run",
        "check_suite",
        "workflow_run",
        "push",
        "status",
    }
)


def signature(secret: bytes, body: bytes) -> str:
    """What GitHub sends in X-Hub-Signature-256 for `body` (and what the sandbox's GitHub signs with)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signed(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the body's signature under `secret` (compared in constant time)."""
    return header is not None and hmac.compare_digest(signature(secret, body), header.strip())


@dataclass(frozen=True)
class Nudge:
    """A repository to read now, and the pull request the event named, when it named one."""

    repo: str
    number: int | None = None


def nudge_of(event: str, payload: dict[str, Any]) -> Nudge | None:
    """The repository (and PR) a delivery is about; None for events that say nothing about pull requests."""
    if event not in EVENTS:
        return None
    repo = str((payload.get("repository") or {}).get("full_name") or "")
    if not repo:
        return None
    pull = payload.get("pull_request")
    issue = payload.get("issue")
    if pull is None and isinstance(issue, dict) and issue.get("pull_request"):
        pull = issue  # a comment on a PR arrives as an issue comment
    number = pull.get("number") if isinstance(pull, dict) else None
    return Nudge(repo, int(number) if number is not None else None)
