"""Following a hand-off: the CodeRun a run handed its incident to, read from the cluster until it ends, and the
pull request it opened, read from GitHub (`github.api_url`, `github.token`): merged or not, its checks. What
came of it is decided in handoff.py; the coordinator drives the run with it.

    GET /apis/agents.platform/v1/namespaces/{ns}/coderuns/{name}
    GET {github.api_url}/repos/{owner}/{repo}/pulls/{n}        GET .../commits/{sha}/check-runs
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from kubernetes import client

from healer_common.contract.remediations import CodeRunOutcome
from healer_common.logging import get_logger
from healer_common.settings import GitHubSettings
from services.remediator.actions.cluster import read_or_none
from services.remediator.actions.create_coderun import GROUP, PLURAL, VERSION
from services.remediator.actions.plans import CLUSTER_ERRORS
from services.remediator.adapters.clusters import ClusterClients
from services.remediator.handoff import PullFacts, checks_verdict, coderun_outcome, pr_coordinates, pull_facts
from services.remediator.run_state import HandOff

log = get_logger()


class HandOffs:
    def __init__(self, clusters: ClusterClients, http: httpx.AsyncClient, github: GitHubSettings) -> None:
        self._clusters = clusters
        self._http = http
        self._github = github

    async def outcome(self, handoff: HandOff, cluster: str, now: dt.datetime) -> CodeRunOutcome | None:
        """What came of the CodeRun (in the run's cluster) once it has ended; None while it works (or cannot be
        read now)."""
        api = self._clusters.get(cluster)
        if api is None:
            return None
        custom = client.CustomObjectsApi(api)
        try:
            coderun = await read_or_none(
                custom.get_namespaced_custom_object, GROUP, VERSION, handoff.namespace, PLURAL, handoff.name
            )
        except CLUSTER_ERRORS as exc:
            log.warning("coderun_unreadable", coderun=f"{handoff.namespace}/{handoff.name}", error=str(exc))
            return None
        ended = coderun_outcome(handoff, coderun, now)
        if ended is None or not ended.pr_url:
            return ended
        pull, checks = await self._pull(ended.pr_url)
        return coderun_outcome(handoff, coderun, now, pull, checks)

    async def _pull(self, url: str) -> tuple[PullFacts | None, bool | None]:
        """The PR's merge state and its checks' verdict; (None, None) when GitHub cannot tell."""
        where = pr_coordinates(url)
        if where is None:
            return None, None
        repo, number = where
        try:
            pull = pull_facts(await self._get(f"/repos/{repo}/pulls/{number}"))
            if not pull.head_sha:
                return pull, None
            runs = await self._get(f"/repos/{repo}/commits/{pull.head_sha}/check-runs")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("pull_request_unreadable", url=url, error=str(exc))
            return None, None
        return pull, checks_verdict(list(runs.get("check_runs") or []))

    async def _get(self, path: str) -> Any:
        headers = {"accept": "application/vnd.github+json"}
        if self._github.token is not None:
            headers["authorization"] = f"Bearer {self._github.token.get_secret_value()}"
        url = self._github.api_url.rstrip("/") + path
        response = await self._http.get(url, headers=headers, timeout=self._github.timeout_s)
        response.raise_for_status()
        return response.json()
