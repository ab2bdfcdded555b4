"""The sandbox process: the world and the five loopback listeners around it (the Kubernetes API, Prometheus,
Loki, GitHub, and a control endpoint), the tick loop, and the files that tell others where it all is (a
kubeconfig and `sandbox.json`, which also lists the GitHub repositories its stories play in).

The control endpoint lets an operator or a test take the Kubernetes API away for a while, as an API
server outage would, while the cluster lives on, and bring it back on the same port; and play a scenario
again on demand (the same incident, on the same workload, a second time):

    POST /kube-api/stop?seconds=30    stop listening (cutting open watches); start again after 30 s
    POST /kube-api/start              start listening again now
    POST /scenarios/NAME/replay       play scenario NAME again from its beginning (or for the first time,
                                      when the sandbox holds its scenarios: `hold`)
    GET  /status                      endpoints, scenarios, replays, objects and watchers, whether the API is up
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from healer_common.clock import Clock, SystemClock
from healer_common.logging import get_logger
from healer_sandbox import ENDPOINTS_FILE, kinds, loki_api, prometheus_api, scenario
from healer_sandbox.apiserver import KubeApiServer
from healer_sandbox.github_api import GitHubApi
from healer_sandbox.listener import Listener
from healer_sandbox.logs import LogStore
from healer_sandbox.series import SeriesStore
from healer_sandbox.world import World

PLATFORM_REPOSITORY = "5dlabs/cto"  # where remediation CodeRuns open PRs and the notifier opens issues
LOG_LINES = 100_000  # hours of the scenarios' logs at the default speed
STEP_GAP_S = 0.05  # a burst of client writes is answered by one step of the control loops, not one each
log = get_logger("sandbox")


@dataclass
class SandboxConfig:
    workdir: Path
    scenarios: list[str] = field(default_factory=list)  # names or YAML paths; none means all built-in ones
    speed: float = 10.0
    pods: int = 0
    hold: bool = False  # provision the scenarios but play them only when replayed
    host: str = "127.0.0.1"
    kube_port: int = 0
    prometheus_port: int = 0
    loki_port: int = 0
    control_port: int = 0
    github_port: int = 0
    github_webhooks: list[str] = field(default_factory=list)  # URLs GitHub's webhook deliveries are POSTed to
    github_secret: str | None = None  # what they are signed with (X-Hub-Signature-256)
    tick_s: float = 0.5
    scrape_interval_s: float = 5.0
    retention_s: float = 3600.0
    watch_history: int = 20_000  # watch events kept for resuming watches; older resourceVersions get 410 Gone
    watch_bookmark_s: float = 60.0  # a quiet watch that allows bookmarks gets one this often

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"


def kubeconfig(server: str, context: str = "healer-sandbox") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": "sandbox"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": "cto"}}],
        "current-context": context,
    }


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    partial.replace(path)


class Sandbox:
    def __init__(self, config: SandboxConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        chosen = scenario.load(config.scenarios)
        self.logs = LogStore(LOG_LINES)
        self.series = SeriesStore(int(config.retention_s / config.scrape_interval_s) + 1)
        self.api = KubeApiServer(
            clock=self.clock,
            history=config.watch_history,
            bookmark_s=config.watch_bookmark_s,
            pod_logs=self.logs.pod_lines,
            on_change=self._client_changed,
        )
        self.world = World(
            self.api.store,
            self.clock,
            speed=config.speed,
            logs=self.logs,
            series=self.series,
            base=scenario.base_cluster(),
            scenarios=chosen,
            filler_pods=config.pods,
            hold=config.hold,
        )
        self.world.cluster.narrate = log.info
        host = config.host
        self.kube = Listener("kube-api", self.api, host, config.kube_port)
        self.prometheus = Listener(
            "prometheus", prometheus_api.routes(self.series, self._now), host, config.prometheus_port
        )
        self.loki = Listener("loki", loki_api.routes(self.logs, self.clock.now), host, config.loki_port)
        self.github_api = GitHubApi(
            self.world.cluster.github, webhooks=config.github_webhooks, secret=config.github_secret
        )
        self.github = Listener("github", self.github_api.app(), host, config.github_port)
        self.control = Listener("control", self._control_routes(), host, config.control_port)
        self._poked = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._resume: asyncio.Task[None] | None = None
        self.resumes_at: float | None = None

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _client_changed(self, method: str, path: str) -> None:
        log.info("a client changed the cluster", request=f"{method} {path}")
        self._poked.set()  # react now, as a controller's watch would, rather than at the next tick

    # lifecycle -------------------------------------------------------------------------------------------
    async def __aenter__(self) -> Sandbox:
        await self.api.__aenter__()
        self.world.settle()
        self.world.step()  # the plays set their gauges, so the first scrape has every series
        self.world.scrape()
        for listener in (self.kube, self.prometheus, self.loki, self.github, self.control):
            await listener.start()
        await self.github_api.start()
        self._ticker = asyncio.create_task(self._tick(), name="sandbox-ticks")
        _write_atomically(self.config.kubeconfig, yaml.safe_dump(kubeconfig(self.kube.url)))
        _write_atomically(self.config.workdir / ENDPOINTS_FILE, json.dumps(self.endpoints(), indent=2))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in (self._ticker, self._resume):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.github_api.stop()
        for listener in (self.control, self.github, self.loki, self.prometheus, self.kube):
            await listener.stop()
        await self.api.__aexit__(kind, error, tb)
        with contextlib.suppress(FileNotFoundError):
            (self.config.workdir / ENDPOINTS_FILE).unlink()

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        next_scrape = loop.time() + self.config.scrape_interval_s
        while True:
            self._poked.clear()
            self.world.step()
            if loop.time() >= next_scrape:
                self.world.scrape()
                next_scrape = loop.time() + self.config.scrape_interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.config.tick_s)
            await asyncio.sleep(STEP_GAP_S)

    # the outage knob -------------------------------------------------------------------------------------
    async def stop_kube_api(self, seconds: float | None = None) -> None:
        """Take the Kubernetes API away (for `seconds`, or until `start_kube_api`); the cluster lives on."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        await self.kube.stop()
        self.resumes_at = None if seconds is None else self._now() + seconds
        log.warning("kube-api stopped", url=self.kube.url, seconds=seconds)
        if seconds is not None:
            self._resume = asyncio.create_task(self._start_after(seconds), name="sandbox-kube-api-resume")

    async def _start_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._resume = None
        await self.start_kube_api()

    async def start_kube_api(self) -> None:
        await self.kube.start()
        self.resumes_at = None
        log.warning("kube-api started", url=self.kube.url)

    # what runs where -------------------------------------------------------------------------------------
    def endpoints(self) -> dict[str, Any]:
        return {
            "kubeconfig": str(self.config.kubeconfig),
            "kube_api": self.kube.url,
            "prometheus": self.prometheus.url,
            "loki": self.loki.url,
            "github": self.github.url,
            "github_repositories": " ".join(self.repositories()),
            "github_platform": PLATFORM_REPOSITORY,
            "control": self.control.url,
        }

    def repositories(self) -> list[str]:
        """The GitHub repositories the scenarios' stories play in, and the platform's own (issues go there)."""
        stories = [
            entry.pull_request.repository
            for plan in self.world.plans.values()
            for entry in plan.plays
            if entry.pull_request is not None
        ]
        return sorted({*stories, PLATFORM_REPOSITORY})

    def status(self) -> dict[str, Any]:
        store = self.api.store
        return {
            **self.endpoints(),
            "kube_api_serving": self.kube.serving,
            "kube_api_resumes_at": self.resumes_at,
            "scenarios": self.world.scenarios,
            "held": self.config.hold,
            "replays": {name: at.isoformat() for name, at in self.world.replays.items()},
            "speed": self.config.speed,
            "resource_version": store.rv,
            "watchers": store.watcher_count(),
            "objects": {r.plural: store.count(r) for r in (kinds.NODES, kinds.PODS, kinds.DEPLOYMENTS, kinds.EVENTS)},
            "series": self.series.series_count,
            "log_lines": len(self.logs),
        }

    def _control_routes(self) -> web.Application:
        async def status(_: web.Request) -> web.Response:
            return web.json_response(self.status())

        async def stop(request: web.Request) -> web.Response:
            raw = request.query.get("seconds")
            try:
                seconds = float(raw) if raw else None
            except ValueError:
                return web.json_response({"error": f"seconds must be a number, got {raw!r}"}, status=400)
            await self.stop_kube_api(seconds)
            return web.json_response(self.status())

        async def start(_: web.Request) -> web.Response:
            await self.start_kube_api()
            return web.json_response(self.status())

        async def replay(request: web.Request) -> web.Response:
            try:
                self.world.replay(request.match_info["name"])
            except KeyError as exc:
                return web.json_response({"error": exc.args[0]}, status=404)
            self._poked.set()
            return web.json_response(self.status())

        app = web.Application()
        app.router.add_get("/status", status)
        app.router.add_post("/kube-api/stop", stop)
        app.router.add_post("/kube-api/start", start)
        app.router.add_post("/scenarios/{name}/replay", replay)
        return app
