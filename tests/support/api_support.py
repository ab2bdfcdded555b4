"""What the read API's tests share: where a running `api` service serves (its heartbeat says), and the bus
messages that stand for what the other services would have published."""

from __future__ import annotations

import datetime as dt

from healer_common.contract.remediations import ApprovalRequest, Remediation
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings
from healer_common.testing import eventually
from tests.support.samples import pod, remediation


async def api_url(settings: Settings) -> str:
    """The base URL of the running api service, from its heartbeat (it binds a free port in tests)."""
    redis = connect_redis(settings)
    try:

        async def served() -> str | None:
            beats = await read_heartbeats(redis, KeySpace(settings.redis.key_prefix))
            return next((b.detail["http"] for b in beats if b.service == "api" and b.state == "running"), None)

        url: str = await eventually(served, timeout=30, what="the api service's heartbeat")
        return url
    finally:
        await redis.aclose()


def waiting_run(remediation_id: str, incident_id: str, now: dt.datetime) -> Remediation:
    """A rollback that waits for a person's answer for ten more minutes."""
    run = remediation("awaiting_approval", finished_after_s=None)
    return run.evolve(
        remediation_id=remediation_id,
        incident_id=incident_id,
        playbook="rollback-bad-deploy",
        requires_approval=True,
        steps=[],
        started_at=now,
        time=now,
        approval=ApprovalRequest(
            action="rollback_deployment",
            target=pod(),
            summary="roll deployment cto/gw back to revision 4",
            expires_at=now + dt.timedelta(minutes=10),
            on_timeout="deny",
        ).model_dump(),
    )
