"""Slack through its Web API (slack-sdk): `chat.postMessage` for an incident's root message and its thread
replies (`thread_ts`), `chat.update` to keep the root's status current in place. What to call is decided in
slack_messages.py; where the root is kept, in slack_roots.py. Sample answers: samples/slack_*.json. With only
a legacy incoming webhook set (`SLACK_WEBHOOK_URL`), slack_webhook.py posts unthreaded instead.

Slack answers errors as HTTP 200 with `{"ok": false, "error": ...}` (slack-sdk raises SlackApiError), and
rate limits as HTTP 429 with `Retry-After`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
from pydantic import Field, SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse as SlackResponse

from healer_common.contract.notifications import Notification
from healer_common.errors import Permanent, Retryable
from services.notifier.channels.http_answers import retry_after
from services.notifier.channels.kind import Channel, ChannelContext, ChannelKind, ChannelSettings
from services.notifier.channels.slack_messages import RootMessage, SlackOp, plan, reply_content
from services.notifier.channels.slack_roots import SlackRoots
from services.notifier.channels.slack_webhook import SlackWebhookChannel

RETRY_LATER = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def slack_client(token: str, base_url: str, session: aiohttp.ClientSession, timeout_s: float) -> AsyncWebClient:
    """slack-sdk's client on our own session; its retry handlers are off: dispatch.py owns retries."""
    url = base_url if base_url.endswith("/") else base_url + "/"
    return AsyncWebClient(token=token, base_url=url, session=session, timeout=int(timeout_s), retry_handlers=[])


class SlackChannel:
    name = "slack"

    def __init__(self, client: AsyncWebClient, channel: str, roots: SlackRoots) -> None:
        self._client = client
        self._channel = channel
        self._roots = roots

    def wants(self, notification: Notification) -> bool:  # noqa: ARG002 - Slack hears every kind
        return True

    async def send(self, notification: Notification) -> None:
        if notification.incident_id is None:
            text, blocks = reply_content(notification)
            await self._call("chat_postMessage", channel=self._channel, text=text, blocks=blocks)
            return
        root = await self._roots.get(notification.incident_id)
        for op in plan(notification, root, self._channel):
            root = await self._run(op, root)

    async def _run(self, op: SlackOp, root: RootMessage | None) -> RootMessage:
        """One Slack call; returns the root as it stands after it (kept in Redis as soon as Slack has it)."""
        assert op.root is not None
        if root is None:
            answer = await self._call("chat_postMessage", channel=self._channel, text=op.text, blocks=op.blocks)
            posted = dataclasses.replace(op.root, channel=answer["channel"], ts=answer["ts"])
            await self._roots.put(posted)
            return posted
        if op.kind == "update_root":
            await self._call("chat_update", channel=root.channel, ts=root.ts, text=op.text, blocks=op.blocks)
            updated = dataclasses.replace(op.root, channel=root.channel, ts=root.ts)
            await self._roots.put(updated)
            return updated
        await self._call("chat_postMessage", channel=root.channel, thread_ts=root.ts, text=op.text, blocks=op.blocks)
        return root

    async def _call(self, method: str, **arguments: Any) -> dict[str, Any]:
        try:
            response = await getattr(self._client, method)(**arguments)
        except SlackApiError as exc:
            raise _decision(exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Retryable(f"slack unreachable: {type(exc).__name__}", delay=0.0) from None
        except (AttributeError, TypeError) as exc:  # slack-sdk checking a text answer as if it were a dict
            raise not_slack(200, repr(exc)) from None
        return dict(response.data) if isinstance(response.data, dict) else {}


def not_slack(status: int, what: str) -> Retryable | Permanent:
    """An answer that is not Slack's JSON (a proxy's page, a wrong slack_api_url). A 2xx may have posted the
    message, so it is not posted again; a 429 or 5xx is a proxy's 'later'."""
    reason = f"slack answered HTTP {status} with a body that is not Slack's JSON ({what[:120]}); check slack_api_url"
    return Retryable(reason) if status == 429 or status >= 500 else Permanent(reason)


def _decision(exc: SlackApiError) -> Retryable | Permanent:
    if not isinstance(exc.response, SlackResponse):  # slack-sdk found a body it could not parse
        return not_slack(int(getattr(exc.response, "status", 0)), str(exc))
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
    if status == 429 or status >= 500 or error in RETRY_LATER:
        wait = retry_after(exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after"))
        return Retryable(f"slack answered HTTP {status} {error}".strip(), delay=wait)
    return Permanent(f"slack refused the message: HTTP {status} {error or 'no error given'}")


class SlackSettings(ChannelSettings):
    token: SecretStr | None = Field(
        None, description="Slack bot token (xoxb-...): one thread per incident, its root message kept up to date"
    )
    webhook_url: SecretStr | None = Field(
        None, description="Slack incoming-webhook URL; posts without threads when no token is set"
    )
    channel: str = Field("#healer", description="Slack channel (name or id) that incident threads go to")
    api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")

    def ready(self) -> bool:
        return self.token is not None or self.webhook_url is not None


def _build(settings: SlackSettings, context: ChannelContext) -> Channel:
    svc = context.service
    if settings.token is None:
        assert settings.webhook_url is not None
        svc.log.warning("slack_without_threads", why="only an incoming webhook is set (no token)")
        return SlackWebhookChannel(settings.webhook_url.get_secret_value(), context.http)
    session = aiohttp.ClientSession()
    svc.on_stop(session.close)
    client = slack_client(settings.token.get_secret_value(), settings.api_url, session, context.timeout_s)
    return SlackChannel(client, settings.channel, SlackRoots(svc.redis, svc.keys))


CHANNEL = ChannelKind(
    SlackSettings, needs="set HEALER_NOTIFIER__CHANNELS__SLACK__TOKEN or SLACK_WEBHOOK_URL", build=_build
)
