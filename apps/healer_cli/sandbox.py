"""`healer sandbox`: the sandbox cluster on its own (what `healer up` starts before the services);
`healer sandbox outage SECONDS`, which takes a running sandbox's Kubernetes API away for a while; and
`healer sandbox replay SCENARIO`, which plays one of its scenarios again (the same incident, a second time).

Point anything at it with the kubeconfig and the URLs it prints: kubectl, the collector, the remediator.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from healer_cli.runtime import console, fail, line, run, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.logging import configure_logging
from healer_sandbox import ENDPOINTS_FILE

if TYPE_CHECKING:
    from healer_sandbox.sandbox import SandboxConfig

app = typer.Typer(help="The sandbox cluster: Kubernetes, Prometheus, Loki and GitHub APIs playing real incidents.")
DEFAULT_DIR = Path(".healer/sandbox")
Port = Annotated[int, typer.Option(min=0, max=65535)]


def print_where(endpoints: dict[str, str]) -> None:
    rows = [
        [part.replace("_", "-"), endpoints[part]]
        for part in ("kubeconfig", "kube_api", "prometheus", "loki", "github", "control")
    ]
    show(console, [Column("part", key=True), Column("where", key=True)], rows, title="The sandbox cluster")


async def _serve(config: SandboxConfig) -> int:
    from healer_sandbox.sandbox import Sandbox  # noqa: PLC0415 - keeps other commands quick

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Sandbox(config) as sandbox:
        print_where(sandbox.endpoints())
        console.print(f"scenarios: {', '.join(sandbox.world.scenarios) or 'none'}; speed x{config.speed:g}")
        console.print(f"try: kubectl --kubeconfig {config.kubeconfig} get pods -A", highlight=False)
        await stop.wait()
        line(("stopping the sandbox…", "bold"))
    return 0


@app.callback(invoke_without_command=True)
def sandbox(
    ctx: typer.Context,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            "-s",
            envvar="HEALER_SANDBOX_SCENARIOS",
            help="a scenario name or YAML file; repeat (or space-separated in the variable); default all",
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.01, envvar="HEALER_SANDBOX_SPEED", help="scenario time / wall time")
    ] = 10.0,
    pods: Annotated[int, typer.Option(min=0, envvar="HEALER_SANDBOX_PODS", help="this many more ordinary pods")] = 0,
    hold: Annotated[
        bool,
        typer.Option(
            "--hold", envvar="HEALER_SANDBOX_HOLD", help="provision the scenarios, play each only when replayed"
        ),
    ] = False,
    data_dir: Annotated[
        Path, typer.Option(envvar="HEALER_SANDBOX_DIR", help="where the kubeconfig goes")
    ] = DEFAULT_DIR,
    kube_port: Port = 0,
    prometheus_port: Port = 0,
    loki_port: Port = 0,
    control_port: Port = 0,
    github_port: Port = 0,
    github_webhook: Annotated[
        list[str] | None,
        typer.Option(envvar="HEALER_SANDBOX_GITHUB_WEBHOOKS", help="POST GitHub's webhook deliveries here; repeat"),
    ] = None,
    github_secret: Annotated[
        str | None, typer.Option(envvar="HEALER_SANDBOX_GITHUB_SECRET", help="sign webhook deliveries with this")
    ] = None,
    list_scenarios: Annotated[bool, typer.Option("--list", help="list the built-in scenarios and exit")] = False,
) -> None:
    """Run the sandbox cluster until Ctrl-C: prints its kubeconfig and its Prometheus and Loki URLs."""
    if ctx.invoked_subcommand is not None:
        return
    from healer_sandbox import scenario as scenarios  # noqa: PLC0415 - keeps other commands quick
    from healer_sandbox.sandbox import SandboxConfig  # noqa: PLC0415

    if list_scenarios:
        for name, path in scenarios.builtin_files().items():
            plan = scenarios.parse(path.read_text(), str(path))
            line((name, "bold"), f" ({', '.join(plan.alerts)}): {plan.summary}")
        return
    log = settings_or_exit(None).log  # HEALER_LOG__*: `healer up` asks its children for console lines
    configure_logging(log.level, log.format, service="sandbox")
    config = SandboxConfig(
        workdir=data_dir.resolve(),
        scenarios=scenario or [],
        speed=speed,
        pods=pods,
        hold=hold,
        kube_port=kube_port,
        prometheus_port=prometheus_port,
        loki_port=loki_port,
        control_port=control_port,
        github_port=github_port,
        github_webhooks=github_webhook or [],
        github_secret=github_secret,
    )
    raise typer.Exit(run(_serve(config)))


def _control(data_dir: Path) -> str:
    """The running sandbox's control endpoint, from the file it writes once it serves."""
    endpoints_file = data_dir / ENDPOINTS_FILE
    if not endpoints_file.is_file():
        fail(f"no running sandbox: {endpoints_file} does not exist (is `healer sandbox` or `healer up` running?)")
    control: str = json.loads(endpoints_file.read_text())["control"]
    return control


def _post(control: str, path: str, **params: float) -> httpx.Response:
    try:
        return httpx.post(f"{control}{path}", params=params, timeout=10)
    except httpx.HTTPError as exc:
        fail(f"cannot reach the sandbox's control endpoint {control}: {exc}")


SandboxDir = Annotated[Path, typer.Option(envvar="HEALER_SANDBOX_DIR", help="the running sandbox's folder")]


@app.command()
def outage(
    seconds: Annotated[float, typer.Argument(min=0, help="how long the Kubernetes API stays away")],
    data_dir: SandboxDir = DEFAULT_DIR,
) -> None:
    """Stop a running sandbox's Kubernetes API for SECONDS (open watches are cut), then start it again."""
    reply = _post(_control(data_dir), "/kube-api/stop", seconds=seconds)
    reply.raise_for_status()
    console.print(f"the Kubernetes API at {reply.json()['kube_api']} is stopped for {seconds:g}s")


@app.command()
def replay(
    scenario: Annotated[str, typer.Argument(help="the name of a scenario the sandbox plays, e.g. leaking-pod")],
    data_dir: SandboxDir = DEFAULT_DIR,
) -> None:
    """Play SCENARIO again on the running sandbox from its beginning: the same incident on the same workload."""
    reply = _post(_control(data_dir), f"/scenarios/{scenario}/replay")
    if reply.status_code == 404:
        fail(str(reply.json()["error"]))
    reply.raise_for_status()
    console.print(f"scenario {scenario} plays again from its beginning (at {reply.json()['replays'][scenario]})")
