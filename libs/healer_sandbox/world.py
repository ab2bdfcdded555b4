"""The simulated cluster as one thing stepped by one clock: the store and the cluster's state, the control
loops (controllers, kubelet, Argo CD, cert-manager, CodeRuns), the plays of the chosen scenarios (from the
start, or held until `replay` asks for one), and the scrapes that feed the series. The sandbox process
calls `step` every tick and `scrape` every scrape interval; tests call them directly with a manual clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from healer_common.clock import Clock
from healer_sandbox import argocd, certmanager, coderuns, controllers, kubelet, provision, scrape
from healer_sandbox.cluster import Cluster
from healer_sandbox.logs import LogStore
from healer_sandbox.plays import Runner, runner
from healer_sandbox.scenario import Scenario
from healer_sandbox.series import SeriesStore
from healer_sandbox.store import ObjectStore

Loop = Callable[[Cluster, dt.datetime], None]
LOOPS: tuple[Loop, ...] = (
    controllers.deployments,
    controllers.replicasets,
    controllers.jobs,
    coderuns.coderuns,
    controllers.scheduler,
    kubelet.kubelet,
    controllers.nodes,
    controllers.volumes,
    controllers.endpoints,
    argocd.argocd,
    certmanager.certmanager,
)
SETTLE_PASSES = 8
EXPIRE_EVERY = dt.timedelta(minutes=1)


class World:
    def __init__(
        self,
        store: ObjectStore,
        clock: Clock,
        *,
        speed: float,
        logs: LogStore,
        series: SeriesStore,
        base: Scenario,
        scenarios: list[Scenario],
        filler_pods: int = 0,
        hold: bool = False,
    ) -> None:
        self.cluster = Cluster(store, clock, speed, logs)
        self.series = series
        self.scenarios = [s.name for s in scenarios]
        provision.crds(self.cluster)
        declared = provision.scenario(self.cluster, base)
        for plan in scenarios:
            declared |= provision.scenario(self.cluster, plan)
        self.declared = declared | provision.filler(self.cluster, filler_pods)
        self.plans = {plan.name: plan for plan in scenarios}
        self.playing: dict[str, list[Runner]] = {base.name: self._runners(base, None)}
        if not hold:
            self.playing |= {plan.name: self._runners(plan, None) for plan in scenarios}
        self.replays: dict[str, dt.datetime] = {}
        self._expired_at = clock.now()

    def _runners(self, plan: Scenario, since: dt.datetime | None) -> list[Runner]:
        return [runner(entry.play, self.declared, since) for entry in plan.plays]

    def replay(self, name: str) -> dt.datetime:
        """Play scenario `name` again from its beginning, as if it started now (or for the first time, when
        the sandbox holds its scenarios): its plays restart, over the objects as they are now."""
        plan = self.plans.get(name)
        if plan is None:
            raise KeyError(f"no scenario {name!r} is loaded; loaded: {', '.join(self.plans) or 'none'}")
        now = self.clock.now()
        self.playing[name] = self._runners(plan, now)
        self.replays[name] = now
        self.cluster.narrate(f"scenario {name}: played again from its beginning")
        return now

    @property
    def clock(self) -> Clock:
        return self.cluster.clock

    def settle(self) -> None:
        """Run the control loops until nothing changes, without Events: a cluster that has been up for days."""
        self.cluster.quiet = True
        try:
            for _ in range(SETTLE_PASSES):
                before = self.cluster.store.rv
                for loop in LOOPS:
                    loop(self.cluster, self.clock.now())
                if self.cluster.store.rv == before:
                    break
        finally:
            self.cluster.quiet = False
        self.cluster.started = self.clock.now()

    def step(self) -> None:
        """One tick: the scenarios play on, then every control loop reacts."""
        now = self.clock.now()
        for plays in self.playing.values():
            for play in plays:
                play.step(self.cluster, now)
        for loop in LOOPS:
            loop(self.cluster, now)
        if now - self._expired_at >= EXPIRE_EVERY:
            controllers.expire_events(self.cluster, now)
            self._expired_at = now

    def scrape(self) -> None:
        now = self.clock.now()
        self.series.record(now.timestamp(), scrape.samples(self.cluster, now))
